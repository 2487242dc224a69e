"""Celery tasks of delivery, and the one way accepted messages reach them (`queue_delivery`)."""
import logging

from celery import shared_task

from . import delivery
from .delivery_queue import get_delivery_queue

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    delivery.deliver_messages(message_ids)


@shared_task(acks_late=True, ignore_result=True)
def drain_delivery_queue() -> int:
    return delivery.drain_delivery_queue()


@shared_task(ignore_result=True)
def requeue_stalled_messages() -> int:
    """Celery beat's safety net: queue again messages whose way to the workers was lost. Delivery
    claims only `accepted` messages, so a message queued twice is still sent once."""
    stalled = delivery.stalled_message_ids()
    if stalled:
        queue_delivery(stalled)
    return len(stalled)


def queue_delivery(message_ids: list[int]) -> None:
    """Hand accepted messages to the workers: through the Redis delivery queue and one drain task
    when there is one, else one task. If that fails now, they stay `accepted` and
    `requeue_stalled_messages` hands them over again: the request that accepted them still succeeds."""
    try:
        queue = get_delivery_queue()
        if queue is None:
            deliver_messages.delay(message_ids)
        elif queue.push(message_ids):
            drain_delivery_queue.delay()
    except Exception:
        logger.exception("Could not queue messages %s; the stalled-message sweep will retry", message_ids)
