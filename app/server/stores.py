"""Key-value stores: in-process in the embedded default, Redis when REDIS_URL is set."""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from app.config import Settings


def create_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url)


def create_store(redis: Redis | None, namespace: str) -> Store:
    if redis is None:
        return MemoryStore()
    return RedisStore(redis, namespace=f"tgmp:{namespace}", handle_client_shutdown=False)
