"""asm-mock's HTTP layer: thin glue between Starlette's ASGI interface and `asm_mock.domain`.

Modules here import no Connexion: they serve the token endpoint and the contract's happy path
from the start; `connexion_stack` holds what is built on Connexion and loads in the background.
"""
