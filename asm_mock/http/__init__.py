"""asm-mock's HTTP layer: thin glue between Connexion/Starlette and `asm_mock.domain`."""

import warnings

# Connexion 3.3 imports starlette.testclient at import time (for its test_client() helper, which
# asm-mock never uses); Starlette >= 1.x warns there that httpx should be httpx2.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient` is deprecated", category=Warning
)
