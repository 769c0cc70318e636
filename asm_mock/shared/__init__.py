"""The shared store's adapter: Redis, for replicas and workers that serve one world.

Nothing in `asm_mock.domain` knows Redis; what lives here turns the domain's records into Redis
keys, streams and messages and back, and Redis's failures into `StoreUnavailableError`.
"""
