"""Celery tasks of delivery, and the one way accepted messages reach delivery (`queue_delivery`)."""
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import balance_alerts, delivery, delivery_loop, send_records
from .delivery_queue import get_delivery_queue

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    """Delivery without the Redis queue: inline (tasks in-process) or in a worker's pool process."""
    delivery.deliver_messages(message_ids)


@shared_task(ignore_result=True)
def requeue_stalled_messages() -> int:
    """Celery beat's safety net: queue again messages whose way to a delivery loop was lost. Delivery
    claims only `accepted` messages, so a message queued twice is still sent once."""
    stalled = delivery.stalled_message_ids()
    if stalled:
        queue_delivery(stalled)
    return len(stalled)


@shared_task(ignore_result=True)
def recover_stuck_sending() -> int:
    """Celery beat: `sending` messages whose delivery loop died (see sms.delivery_loop)."""
    settled = delivery_loop.settle_stuck_sending()
    if settled["given_back"]:
        queue_delivery(settled["given_back"])
    return settled["lost"] + len(settled["given_back"])


@shared_task(ignore_result=True)
def apply_held_receipts() -> dict:
    """Celery beat: receipts that arrived before their record's submit answer was stored."""
    return send_records.reapply_held_receipts(hold=timedelta(seconds=settings.SMS_RECEIPT_HOLD_SECONDS))


@shared_task(ignore_result=True)
def expire_waiting_receipts() -> int:
    """Celery beat: records still waiting for a receipt after SMS_RECEIPT_TIMEOUT_HOURS."""
    return send_records.expire_waiting_receipts(timeout=timedelta(hours=settings.SMS_RECEIPT_TIMEOUT_HOURS))


@shared_task(ignore_result=True)
def send_low_balance_alert(account_id: int) -> None:
    """The alert of an account whose balance a charge just took below its threshold (once per crossing)."""
    message = balance_alerts.send_low_balance_alert(account_id)
    if message is not None:
        queue_delivery([message.id])


def queue_delivery(message_ids: list[int]) -> None:
    """Hand accepted messages to delivery: with Redis and tasks in a worker, one RPUSH to the delivery
    queue (the workers' delivery loops take them); with tasks in-process, delivery runs inline now;
    otherwise one task. If that fails now, they stay `accepted` and `requeue_stalled_messages` hands
    them over again: the request that accepted them still succeeds."""
    try:
        queue = get_delivery_queue()
        if queue is None or deliver_messages.app.conf.task_always_eager:
            deliver_messages.delay(message_ids)
        else:
            queue.push(message_ids)
    except Exception:
        logger.exception("Could not queue messages %s; the stalled-message sweep will retry", message_ids)
