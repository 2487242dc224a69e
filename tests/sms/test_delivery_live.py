"""Delivery through the real worker: nothing waits for ever when a wake-up is lost."""
import pytest
from django.conf import settings

from sms.models import Message, MessageStatus
from tests.factories import MessageFactory
from tests.live import wait_until

pytestmark = pytest.mark.live


@pytest.mark.skipif(not settings.REDIS_URL, reason="the delivery queue lives in Redis; without it tasks run in-process")
def test_a_delivery_queue_whose_drain_task_was_lost_is_drained_by_beat(live_stack, live_app):
    import redis

    from sms.delivery_queue import RedisDeliveryQueue

    queue = RedisDeliveryQueue(redis.Redis.from_url(settings.REDIS_URL),
                               f"smsp:delivery-queue:{live_stack.env['CELERY_TASK_DEFAULT_QUEUE']}")
    message = MessageFactory(app=live_app)
    # A drainer is "scheduled" (its flag is set) but its task never reaches a worker.
    queue.client.set(queue.keys[1], "1", px=60_000)
    assert queue.push([message.id]) is False
    wait_until(lambda: Message.objects.get(id=message.id).status == MessageStatus.DELIVERED,
               timeout=30, what="celery beat's drain to deliver the message")
    assert len(live_stack.outbox.wait_for(message.phone, 1)) == 1
