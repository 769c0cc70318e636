"""Adapters to shared infrastructure: the Redis store that replicas, workers and tenants share.

The only package that imports `redis` (tests/test_architecture.py holds it to that). The domain
sees none of it: a `RedisStore` is one more implementation of `domain/store.py`'s protocols.
"""
