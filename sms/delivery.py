"""Delivery: taking accepted messages to their carrier and writing what the carrier said.

The Celery tasks (`sms.tasks`) run this code; it never queues tasks itself. Every status change goes
through `Message.objects.move_to` (one conditional UPDATE for a whole batch) or
`record_submit_results`, so a message only ever moves along the edges of `models.TRANSITIONS`.
"""
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .carriers import OutboundMessage, preferred_carrier
from .delivery_queue import BATCH_SIZE, get_delivery_queue
from .models import Message, MessageStatus

logger = logging.getLogger(__name__)

# A message still `accepted` this long after it was written lost its way to the workers.
STALLED_AFTER = timedelta(seconds=30)


def deliver_messages(message_ids: list[int]) -> None:
    """Push accepted messages to their carrier. Safe to run twice: only `accepted` ones are claimed."""
    with transaction.atomic():
        # Lock the messages only (not their app, which every accepting request references): a
        # second run of the same task waits here, then finds them no longer `accepted`.
        claimed = list(
            Message.objects.select_for_update(of=("self",))
            .filter(id__in=message_ids, status=MessageStatus.ACCEPTED)
            .select_related("app")
            .order_by("id")
        )
        if not claimed:
            return
        carrier = preferred_carrier()
        Message.objects.filter(id__in=[m.id for m in claimed]).move_to(
            MessageStatus.SENDING, carrier=carrier.name, attempts=F("attempts") + 1,
        )
    outbound = [OutboundMessage(m.id, m.app.app_id, m.phone, m.text, m.channel) for m in claimed]
    try:
        results = carrier.submit(outbound)
    except Exception as exc:  # the carrier's call failed as a whole: every message of the batch failed
        logger.exception("Carrier %s failed a batch of %d", carrier.name, len(outbound))
        Message.objects.filter(id__in=[m.id for m in claimed]).move_to(
            MessageStatus.CALL_FAILED, error=str(exc)[:255]
        )
        return
    record_submit_results(results)


def record_submit_results(results) -> None:
    """Write what a carrier said of a batch: one UPDATE per resulting status."""
    now = timezone.now()
    by_status: dict[str, list[Message]] = {}
    for result in results:
        by_status.setdefault(result.status, []).append(Message(
            id=result.message_id, status=result.status, carrier_message_id=result.carrier_message_id,
            error=result.error[:255], finished_at=now,
        ))
    for status, messages in by_status.items():
        fields = ["status", "carrier_message_id", "error"]
        if status != MessageStatus.WAITING_RECEIPT:
            fields.append("finished_at")
        Message.objects.may_move_to(status).bulk_update(messages, fields, batch_size=1000)


def drain_delivery_queue(*, batch_size: int = BATCH_SIZE) -> int:
    """Deliver what the delivery queue holds, a batch at a time, until it is empty; the count taken."""
    queue = get_delivery_queue()
    if queue is None:
        return 0
    taken = 0
    while ids := queue.take(batch_size):
        taken += len(ids)
        try:
            deliver_messages(ids)
        except Exception:
            queue.release()  # let the next accepted message schedule a fresh drainer at once
            raise
    return taken


def stalled_message_ids(*, older_than: timedelta = STALLED_AFTER, limit: int = 1000) -> list[int]:
    """Messages still `accepted` after `older_than`: their task was never queued, or was lost."""
    return list(
        Message.objects.filter(status=MessageStatus.ACCEPTED, created_at__lt=timezone.now() - older_than)
        .order_by("created_at").values_list("id", flat=True)[:limit]
    )
