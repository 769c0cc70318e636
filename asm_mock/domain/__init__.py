"""asm-mock's domain core: the world, its generation, search, sessions and tokens.

Nothing in this package imports Connexion, Starlette or any other HTTP library
(tests/test_architecture.py guards that rule).
"""
