"""The delivery queue: between accepting a message and delivering it.

With Redis (and tasks in a worker), an accepted message's id is appended to one Redis list (one
RPUSH per accepting request); the delivery loop of each Celery worker instance takes them (BLPOP for
the first ones, BLMPOP with a count, then LPOP with a count for the rest of a batch). No Celery task per batch, no drainer.
Without it (tasks in-process), delivery runs inline (`sms.tasks.queue_delivery`).
"""
from functools import lru_cache

from django.conf import settings

from smsplatform.redis_client import redis_client


class RedisDeliveryQueue:
    def __init__(self, client, key: str):
        self.client = client
        self.key = key
        self.keys = [key]

    def push(self, message_ids: list[int]) -> None:
        if message_ids:
            self.client.rpush(self.key, *message_ids)

    def wait(self, timeout: float) -> int | None:
        """The first id to arrive within `timeout` seconds, or None."""
        answer = self.client.blpop([self.key], timeout=timeout)
        return int(answer[1]) if answer else None

    def wait_many(self, timeout: float, count: int) -> list[int]:
        """Up to `count` ids, as soon as there is one (one BLMPOP); [] after `timeout` seconds."""
        answer = self.client.blmpop(timeout, 1, self.key, direction="LEFT", count=count)
        return [int(i) for i in answer[1]] if answer else []

    def take(self, count: int) -> list[int]:
        """Up to `count` ids already waiting, oldest first (none: an empty list, at once)."""
        return [int(i) for i in (self.client.lpop(self.key, count) or [])]

    def length(self) -> int:
        return self.client.llen(self.key)


def queue_key() -> str:
    return f"smsp:delivery-queue:{settings.CELERY_TASK_DEFAULT_QUEUE}"


@lru_cache(maxsize=1)
def get_delivery_queue() -> RedisDeliveryQueue | None:
    """The Redis delivery queue, or None without Redis."""
    client = redis_client()
    if client is None:
        return None
    return RedisDeliveryQueue(client, queue_key())
