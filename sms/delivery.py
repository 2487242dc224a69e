"""Delivery: taking claimed messages to their carriers, failing over, and handing the outcome to
`send_records` (the one service that changes statuses).

`deliver(ids)` claims the `accepted` ones (one statement), unseals each clear text, routes each
message (`routing.plan`), submits per carrier (carriers of one batch at the same time), passes what a
carrier FAILED to the next carrier of its route (each attempt recorded), and records the batch in one
transaction. Only when every carrier of its route failed does a message end `call_failed` with the
last error; UNKNOWN (sent but unanswered) is never retried anywhere: `call_failed` with its reason.

The delivery loop (`sms.delivery_loop`) calls this with its id and journal; without the Redis queue,
`sms.tasks.deliver_messages` runs it inline. This module never queues tasks.
"""
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import DataError, IntegrityError, connection
from django.utils import timezone

from accounts.models import App
from smsplatform.sealing import InvalidToken

from . import route_stats, routing, send_records
from .carriers import OutboundMessage, Outcome, SubmitResult
from .carriers.registry import get_registry
from .models import AttemptOutcome, Message, MessageStatus

logger = logging.getLogger(__name__)
S = MessageStatus

# A message still `accepted` this long after it was written lost its way to the delivery loops.
STALLED_AFTER = timedelta(seconds=30)
NO_ROUTE = "no enabled carrier on the route for {channel} to +{code}"

_app_ids: dict[int, str] = {}
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sms-submit")


class LoopLost(Exception):
    """The delivery loop lost its heartbeat: it must not hand anything more to a carrier."""


def deliver_messages(message_ids: list[int], *, loop_id: str = "", journal=None, record=None) -> int:
    """Claim the `accepted` ones of `message_ids` and deliver them; the count claimed. Safe to run
    twice: only `accepted` messages are claimed, in one conditional statement.

    `record(finals, attempts)` writes the outcome; by default now, in this thread (the delivery loop
    hands it to its process's writer and goes on)."""
    claimed = send_records.claim(message_ids, loop_id=loop_id)
    if claimed:
        deliver_claimed(claimed, loop_id=loop_id, journal=journal, record=record)
    return len(claimed)


def deliver_claimed(claimed: list[send_records.ClaimedMessage], *, loop_id: str = "", journal=None,
                    record=None) -> None:
    registry = get_registry()
    snapshot = registry.snapshot()
    rates = None
    if any(r.strategy == routing.BEST_DELIVERY_RATE for r in snapshot.routes):
        rates = route_stats.rates([c.id for c in snapshot.carriers])
    apps = _app_ids_of({m.app_pk for m in claimed})
    finals: list[send_records.Final] = []
    pending: dict[int, tuple[OutboundMessage, list, int]] = {}
    for message in claimed:
        try:
            text, code = message.clear()
        except InvalidToken:
            finals.append(send_records.Final(message.id, S.CALL_FAILED, error_code="sealed",
                                             error="the sealed text cannot be opened with SMS_SEALING_KEY"))
            continue
        code_of = routing.country_calling_code(message.phone)
        plan = routing.plan(snapshot, country_code=code_of, channel=message.channel, rates=rates,
                            exploration=settings.SMS_ROUTE_EXPLORATION, prior_weight=settings.SMS_ROUTE_PRIOR_WEIGHT,
                            tolerance=settings.SMS_ROUTE_RATE_TOLERANCE)
        if not plan:
            finals.append(send_records.Final(message.id, S.CALL_FAILED, error_code="no_route",
                                             error=NO_ROUTE.format(channel=message.channel, code=code_of)))
            continue
        outbound = OutboundMessage(message.id, message.phone, text, message.channel, apps.get(message.app_pk, ""),
                                   code, message.signature)
        pending[message.id] = (outbound, plan, 0)

    attempts: list[send_records.Attempt] = []
    journaled: set[int] = set()
    in_flight = send_records.submits_in_flight.begin()
    try:
        _submit_all(registry, pending, finals, attempts, journaled, claimed, loop_id, journal)
        (record or _record)(finals, attempts)
    finally:
        send_records.submits_in_flight.end(in_flight)


def _submit_all(registry, pending, finals, attempts, journaled, claimed, loop_id, journal) -> None:

    def journal_of(ids):
        if journal is not None:
            journal(ids)
        journaled.update(ids)

    try:
        while pending:
            groups: dict[int, list[int]] = {}
            for message_id, (_, plan, index) in pending.items():
                groups.setdefault(plan[index].id, []).append(message_id)
            jobs = []
            for carrier_id, ids in groups.items():
                carrier = pending[ids[0]][1][pending[ids[0]][2]]
                jobs.append((carrier, [pending[i][0] for i in ids]))
            if len(jobs) == 1:
                outcomes = [_submit(registry, *jobs[0], journal_of)]
            else:
                outcomes = list(_pool.map(lambda job: _submit(registry, *job, journal_of), jobs))
            next_round = {}
            for (carrier, _), (started, finished, results) in zip(jobs, outcomes):
                for result in results:
                    outbound, plan, index = pending[result.message_id]
                    attempts.append(send_records.Attempt(
                        result.message_id, carrier.id, started, finished, AttemptOutcome(result.outcome.value),
                        result.error_code, result.error,
                    ))
                    n = index + 1
                    if result.outcome == Outcome.FAILED and n < len(plan):
                        next_round[result.message_id] = (outbound, plan, n)
                    else:
                        finals.append(_final(carrier, result, attempts=n))
            pending = next_round
    except LoopLost:
        unsent = [m.id for m in claimed if m.id not in journaled]
        send_records.give_back(unsent, loop_id=loop_id)
        raise


RECORD_RETRY_SECONDS = 60.0


def _record(finals, attempts) -> None:
    # The carriers have answered: this must be written. A failing database is retried for a while;
    # after that the messages stay `sending` and the stuck-sending sweep settles them (the journal says
    # they may have gone out: call failed, "worker lost before the carrier answered").
    delay, deadline = 0.1, time.monotonic() + RECORD_RETRY_SECONDS
    while True:
        try:
            send_records.record_deliveries(finals, attempts)
            return
        except (IntegrityError, DataError) as exc:  # not transient: retrying would not help
            logger.exception("The results of %d messages cannot be recorded", len(finals))
            get_registry().invalidate()
            send_records.settle_lost([f.message_id for f in finals],
                                     reason=f"the carrier's answer could not be recorded ({type(exc).__name__})")
            return
        except Exception:  # noqa: BLE001
            if time.monotonic() > deadline:
                raise
            logger.exception("Recording %d delivery results failed; retrying", len(finals))
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _final(carrier, result: SubmitResult, *, attempts: int) -> send_records.Final:
    status = {
        Outcome.ACCEPTED: S.WAITING_RECEIPT,
        Outcome.DELIVERED: S.DELIVERED,
    }.get(result.outcome, S.CALL_FAILED)
    error = result.error
    if result.outcome == Outcome.UNKNOWN:
        error = f"sent but unanswered, not retried: {error}" if error else "sent but unanswered, not retried"
    elif result.outcome == Outcome.FAILED and attempts > 1:
        error = f"every carrier of the route failed ({attempts}); last: {error}"
    return send_records.Final(
        result.message_id, status, carrier.name, carrier.id, tuple(result.carrier_message_ids),
        result.wire_parts if status != S.CALL_FAILED else 0, result.error_code, error, attempts,
    )


def _submit(registry, carrier, messages: list[OutboundMessage], journal):
    """(started, finished, one result per message) from one carrier; never raises but LoopLost."""
    started = timezone.now()
    mine: set[int] = set()

    def journal_here(ids):
        journal(ids)
        mine.update(ids)

    try:
        adapter = registry.adapter(carrier)
        results = list(adapter.submit(messages, journal=journal_here))
    except LoopLost:
        raise
    except Exception as exc:  # noqa: BLE001 - the adapter gave up: its messages failed, or may have gone
        logger.exception("Carrier %s failed a batch of %d", carrier.name, len(messages))
        error = f"{type(exc).__name__}: {exc}"[:255]
        results = [SubmitResult(m.id, Outcome.UNKNOWN if m.id in mine else Outcome.FAILED, error=error)
                   for m in messages]
    finished = timezone.now()
    wanted = {m.id for m in messages}
    answered = {r.message_id for r in results if r.message_id in wanted}
    results = [r for r in results if r.message_id in wanted]
    for message_id in wanted - answered:  # an adapter that forgot one
        results.append(SubmitResult(message_id, Outcome.UNKNOWN if message_id in mine else Outcome.FAILED,
                                    error="the carrier adapter gave no result"))
    return started, finished, results


def _app_ids_of(pks: set[int]) -> dict[int, str]:
    missing = pks - _app_ids.keys()
    if missing:
        _app_ids.update(App.objects.filter(pk__in=missing).values_list("pk", "app_id"))
    return {pk: _app_ids.get(pk, "") for pk in pks}


def stalled_message_ids(*, older_than: timedelta = STALLED_AFTER, limit: int = 1000) -> list[int]:
    """Messages still `accepted` after `older_than`: never queued, or lost on the way."""
    return list(
        Message.objects.filter(status=S.ACCEPTED, created_at__lt=timezone.now() - older_than)
        .order_by("created_at").values_list("id", flat=True)[:limit]
    )
