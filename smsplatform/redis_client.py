from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def redis_client():
    """The process's client of REDIS_URL (its pool is rebuilt after a fork), or None without Redis."""
    if not settings.REDIS_URL:
        return None
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)
