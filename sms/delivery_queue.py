"""The delivery queue: between accepting a message and delivering it.

With Redis, an accepted message's id is appended to one Redis list, and one drain task, scheduled
only when none is scheduled or running, takes the ids in batches: a request costs one Redis call,
and a worker delivers a batch with a handful of queries instead of a task per message. Each script
is atomic, so an id pushed while the drainer finds the list empty schedules a new drainer.
"""
from functools import lru_cache

from django.conf import settings

from smsplatform.redis_client import redis_client

BATCH_SIZE = 500
# How long the flag "a drainer is scheduled or running" lives unless the drainer renews it (it does
# with every batch it takes): a drain task lost on its way, or a drainer that died, holds up the
# messages pushed after it for at most this long. Celery beat also drains every few seconds, and
# the ids a dead drainer took are still `accepted` in the database for the stalled-message sweep.
DRAINER_LEASE_MS = 5_000

_PUSH = """
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
"""

_TAKE = """
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then
  redis.call('DEL', KEYS[2])
  return {}
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ids
"""


class RedisDeliveryQueue:
    def __init__(self, client, key: str):
        self.client = client
        self.keys = [key, key + ":drainer"]
        self.push_script = client.register_script(_PUSH)
        self.take_script = client.register_script(_TAKE)

    def push(self, message_ids: list[int]) -> bool:
        """Queue the ids; True when no drainer is scheduled, so the caller must schedule one."""
        return bool(self.push_script(keys=self.keys, args=[DRAINER_LEASE_MS, *message_ids]))

    def take(self, count: int = BATCH_SIZE) -> list[int]:
        """Up to `count` ids, oldest first; none means the drainer is done and its flag released."""
        return [int(i) for i in self.take_script(keys=self.keys, args=[count, DRAINER_LEASE_MS])]

    def release(self) -> None:
        self.client.delete(self.keys[1])


@lru_cache(maxsize=1)
def get_delivery_queue() -> RedisDeliveryQueue | None:
    """The Redis delivery queue, or None where tasks go straight to Celery (no Redis, or tasks in-process)."""
    client = redis_client()
    if client is None or settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    return RedisDeliveryQueue(client, f"smsp:delivery-queue:{settings.CELERY_TASK_DEFAULT_QUEUE}")
