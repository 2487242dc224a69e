"""Delivery through the real worker: its delivery loop takes ids straight from the Redis queue."""
import pytest
from django.conf import settings

from sms.models import Message, MessageStatus
from tests.factories import MessageFactory
from tests.live import wait_until

pytestmark = pytest.mark.live


@pytest.mark.skipif(not settings.REDIS_URL, reason="the delivery queue lives in Redis; without it tasks run in-process")
def test_an_id_pushed_to_the_delivery_queue_is_delivered_by_the_workers_loop(live_stack, live_app):
    import redis

    from sms.delivery_queue import RedisDeliveryQueue

    queue = RedisDeliveryQueue(redis.Redis.from_url(settings.REDIS_URL),
                               f"smsp:delivery-queue:{live_stack.env['CELERY_TASK_DEFAULT_QUEUE']}")
    message = MessageFactory(app=live_app)
    queue.push([message.id])  # no Celery task is sent: the worker's delivery loop is waiting on the list
    wait_until(lambda: Message.objects.get(id=message.id).status == MessageStatus.DELIVERED,
               timeout=30, what="the worker's delivery loop to deliver the message")
    assert len(live_stack.outbox.wait_for(message.phone, 1)) == 1
    assert Message.objects.get(id=message.id).claimed_by  # claimed by a loop, which recorded its id
