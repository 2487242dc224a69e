"""Each carrier's live figures for the admin, from the database (indexed: attempts by (carrier,
started_at), receipts by (carrier, received_at)): sent, delivered, failed, delivery rate and the
median receipt delay over a window."""
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from .models import AttemptOutcome, DeliveryAttempt, Receipt, ReceiptState
from .routing import delivery_rate

WINDOWS = {"1 h": timedelta(hours=1), "24 h": timedelta(hours=24)}


def figures(carrier_id: int, window: timedelta) -> dict:
    since = timezone.now() - window
    attempts = DeliveryAttempt.objects.filter(carrier_id=carrier_id, started_at__gte=since).aggregate(
        sent=Count("id", filter=Q(outcome__in=[AttemptOutcome.ACCEPTED, AttemptOutcome.DELIVERED])),
        at_once=Count("id", filter=Q(outcome=AttemptOutcome.DELIVERED)),
        refused=Count("id", filter=Q(outcome=AttemptOutcome.FAILED)),
    )
    receipts = Receipt.objects.filter(carrier_id=carrier_id, received_at__gte=since, state=ReceiptState.APPLIED)
    counts = receipts.aggregate(n_delivered=Count("id", filter=Q(delivered=True)),
                                n_failed=Count("id", filter=Q(delivered=False)))
    counts = {"delivered": counts["n_delivered"], "failed": counts["n_failed"]}
    delivered = counts["delivered"] + attempts["at_once"]
    return {
        "sent": attempts["sent"], "refused": attempts["refused"], "delivered": delivered, "failed": counts["failed"],
        "rate": delivery_rate(delivered, counts["failed"]), "median_delay_ms": _median_delay(carrier_id, since),
    }


def _median_delay(carrier_id: int, since):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_ms) FROM sms_receipt"
                " WHERE carrier_id = %s AND received_at >= %s AND state = %s AND delay_ms IS NOT NULL",
                [carrier_id, since, ReceiptState.APPLIED],
            )
            value = cursor.fetchone()[0]
            return None if value is None else float(value)
    delays = sorted(Receipt.objects.filter(carrier_id=carrier_id, received_at__gte=since, state=ReceiptState.APPLIED,
                                           delay_ms__isnull=False).values_list("delay_ms", flat=True))
    if not delays:
        return None
    middle = len(delays) // 2
    return float(delays[middle]) if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2


def summary(figure: dict) -> str:
    rate = "–" if figure["rate"] is None else f"{figure['rate']:.1%}"
    delay = "–" if figure["median_delay_ms"] is None else f"{figure['median_delay_ms'] / 1000:.1f} s"
    return (f"sent {figure['sent']}, delivered {figure['delivered']}, failed {figure['failed']},"
            f" rate {rate}, median receipt {delay}")
