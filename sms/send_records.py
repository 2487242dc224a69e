"""The one service that changes a send record's status: claiming, recording what carriers said,
receipts, verification, the safety nets. Every change goes through here, so whatever must follow a
status change (the coming send-record API and webhooks, billing's refund on call failed) has one hook
point: the `status_changed` signal, sent once per batch after the transaction commits.

Batches are written with few statements whatever their size: one conditional UPDATE per target
status (the state machine of `models.TRANSITIONS`, checked in SQL), with per-row values from a
`WITH v(...) AS (VALUES ...)` list (PostgreSQL and SQLite >= 3.33 both take `UPDATE ... FROM`;
Django's `bulk_update` builds a CASE WHEN per row, slow for hundreds), multi-row INSERTs, and
`UPDATE ... RETURNING` for the claim.
"""
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.services import money
from smsplatform import sealing

from . import route_stats
from .carriers import CarrierReceipt
from .models import TRANSITIONS, AttemptOutcome, MessageStatus, PartStatus, ReceiptState

logger = logging.getLogger(__name__)
S = MessageStatus

# Sent after commit with `status` (a MessageStatus) and `message_ids` (those that moved there).
status_changed = Signal()

# Within one process, writing submit results and writing receipts take turns: a receipt that arrives
# before its submit's answer is stored is then always either found or held and found by that submit
# (across processes, the held-receipt sweep covers the rare race).
WRITE_LOCK = threading.RLock()

WORKER_LOST = "worker lost before the carrier answered"
REFUND_REASON = "call failed"


class SubmitsInFlight:
    """This process's batches between their submit and the record of its answers. The receipt writer
    waits (a bounded time) for the batches that began before its receipts arrived: a receipt that
    beats its submit's answer is then applied at once instead of being held and applied again."""

    def __init__(self):
        self._cond = threading.Condition()
        self._open: dict[int, float] = {}
        self._serial = 0

    def begin(self) -> int:
        with self._cond:
            self._serial += 1
            self._open[self._serial] = time.monotonic()
            return self._serial

    def end(self, token: int) -> None:
        with self._cond:
            self._open.pop(token, None)
            self._cond.notify_all()

    def wait_for_those_before(self, moment: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(started <= moment for started in self._open.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)


submits_in_flight = SubmitsInFlight()
CHUNK = 500  # rows per statement


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    app_pk: int
    phone: str
    channel: str
    signature: str
    text: str        # masked
    sealed: str | None

    def clear(self) -> tuple[str, str]:
        """(clear text, code): unsealed; a record without a sealed text (written before sealing) has its text."""
        if not self.sealed:
            return self.text, ""
        value = sealing.unseal_json(self.sealed)
        return value["t"], value.get("c", "")


@dataclass(frozen=True)
class Attempt:
    message_id: int
    carrier_id: int
    started_at: datetime
    finished_at: datetime
    outcome: str  # AttemptOutcome
    error_code: str = ""
    error: str = ""


@dataclass(frozen=True)
class Final:
    """What delivery ends a claimed message with: its status after the submit and who sent it."""

    message_id: int
    status: str  # waiting_receipt, delivered or call_failed
    carrier_name: str = ""
    carrier_id: int | None = None
    carrier_message_ids: tuple[str, ...] = ()
    wire_parts: int = 0
    error_code: str = ""
    error: str = ""
    attempts: int = 0


def seal_for_delivery(*, text: str, code: str) -> str:
    return sealing.seal_json({"t": text, "c": code} if code else {"t": text})


# --- SQL helpers ----------------------------------------------------------------------------------

def _ts(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _dt(value) -> datetime | None:
    """A datetime read by a raw cursor (SQLite gives text or naive values) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def _chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _values(rows: list[tuple]) -> tuple[str, list]:
    width = len(rows[0])
    row = f"({_placeholders(width)})"
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


def _in_states(states) -> str:
    return ", ".join(f"'{state}'" for state in sorted(states))  # our own constants, never input


def _refund(call_failed_ids: list[int]) -> None:
    """Messages that just moved to call failed (the state machine moves each there once) are not
    billed: their charge is given back in the same transaction (and never twice: the ledger)."""
    if call_failed_ids:
        money.refund(message_ids=call_failed_ids, reason=REFUND_REASON)


def _notify(status: str, ids: list[int]) -> None:
    if ids and status_changed.receivers:
        transaction.on_commit(lambda: status_changed.send(sender=None, status=status, message_ids=ids))


# --- claiming -------------------------------------------------------------------------------------

def claim(message_ids: list[int], *, loop_id: str = "") -> list[ClaimedMessage]:
    """Move the `accepted` ones of `message_ids` to `sending` for `loop_id`, in one statement each
    chunk; what delivery needs of them. A message claimed twice is returned once."""
    now = timezone.now()
    claimed = []
    ids = sorted(set(message_ids))
    with connection.cursor() as cursor:
        for chunk in _chunks(ids):
            cursor.execute(
                f"UPDATE sms_message SET status = %s, claimed_at = %s, claimed_by = %s"
                f" WHERE id IN ({_placeholders(len(chunk))}) AND status IN ({_in_states(TRANSITIONS[S.SENDING])})"
                f" RETURNING id, app_id, phone, channel, signature, text, sealed",
                [S.SENDING, _ts(now), loop_id, *chunk],
            )
            claimed += [ClaimedMessage(*row) for row in cursor.fetchall()]
    _notify(S.SENDING, [m.id for m in claimed])
    return claimed


def give_back(message_ids: list[int], *, loop_id: str | None = None) -> list[int]:
    """`sending` -> `accepted` for messages certainly never handed to a carrier; the ids moved."""
    moved = []
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(message_ids)):
            extra, params = ("", []) if loop_id is None else (" AND claimed_by = %s", [loop_id])
            cursor.execute(
                f"UPDATE sms_message SET status = %s, claimed_by = '', claimed_at = NULL"
                f" WHERE id IN ({_placeholders(len(chunk))}) AND status IN ({_in_states(TRANSITIONS[S.ACCEPTED])}){extra}"
                f" RETURNING id",
                [S.ACCEPTED, *chunk, *params],
            )
            moved += [row[0] for row in cursor.fetchall()]
    _notify(S.ACCEPTED, moved)
    return moved


def settle_lost(message_ids: list[int], *, reason: str = WORKER_LOST) -> list[int]:
    """`sending` -> `call_failed` with `reason`, for messages that may have gone out (never re-sent)."""
    now = timezone.now()
    moved = []
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in _chunks(sorted(message_ids)):
            cursor.execute(
                f"UPDATE sms_message SET status = %s, finished_at = %s, error = %s, error_code = 'lost', sealed = NULL"
                f" WHERE id IN ({_placeholders(len(chunk))}) AND status IN ('{S.SENDING}')"
                f" RETURNING id",
                [S.CALL_FAILED, _ts(now), reason[:255], *chunk],
            )
            moved += [row[0] for row in cursor.fetchall()]
        _refund(moved)
    _notify(S.CALL_FAILED, moved)
    return moved


# --- recording what the carriers said ---------------------------------------------------------------

_STAMPS = {
    S.WAITING_RECEIPT: ("submitted_at",),
    S.DELIVERED: ("submitted_at", "finished_at"),
    S.CALL_FAILED: ("finished_at",),
}


def record_deliveries(finals: list[Final], attempts: list[Attempt]) -> dict[str, list[int]]:
    """Write the outcome of a delivered batch: each record's status, carrier, parts (one row per
    carrier message id), attempts, and the sealed text cleared, in one transaction, with the receipts
    that arrived before these parts were known. The ids moved, by status."""
    return write_batch(finals, attempts, {})["moved"]


def write_batch(finals: list[Final], attempts: list[Attempt], receipts: dict[int, list["_Item"]]) -> dict:
    """One transaction for what a process has to write: submit results first (so that receipts of
    the same flush find their parts), then the receipts held for those parts, then `receipts`
    ({carrier id: items}). {"moved": {status: ids}, "applied"/"held"/"duplicate": counts}."""
    now = timezone.now()
    moved: dict[str, list[int]] = {}
    counts = {"applied": 0, "held": 0, "duplicate": 0}
    stats: dict[int, list[int]] = {}
    with WRITE_LOCK, transaction.atomic(), connection.cursor() as cursor:
        if finals:
            by_status: dict[str, list[Final]] = {}
            for final in finals:
                by_status.setdefault(final.status, []).append(final)
            parts = [
                (f.message_id, f.carrier_id, cmid, number,
                 PartStatus.DELIVERED if f.status == S.DELIVERED else PartStatus.PENDING)
                for f in finals if f.carrier_id is not None and f.status != S.CALL_FAILED
                for number, cmid in enumerate(f.carrier_message_ids, start=1) if cmid
            ]
            incoming = {(cid, item.receipt.carrier_message_id) for cid, items in receipts.items() for item in items}
            pending_parts: dict[int, list[str]] = {}
            for _, carrier_id, cmid, _, status in parts:
                if status == PartStatus.PENDING and (carrier_id, cmid) not in incoming:
                    pending_parts.setdefault(carrier_id, []).append(cmid)
        if finals and _one_statement(finals, parts, attempts, pending_parts):
            # PostgreSQL: the statuses, the parts, the attempts and the held receipts' lookup in one
            # statement (data-modifying CTEs): one round trip and one plan instead of four.
            held = _write_results_at_once(cursor, by_status, parts, attempts, pending_parts, now, moved)
            for carrier_id, items in held.items():
                receipts = {**receipts, carrier_id: items + list(receipts.get(carrier_id, []))}
        elif finals:
            for status, group in by_status.items():
                moved.setdefault(status, []).extend(_move_finals(cursor, status, group, now))
            for chunk in _chunks(parts):
                sql, params = _values(chunk)
                cursor.execute(
                    "INSERT INTO sms_messagepart (message_id, carrier_id, carrier_message_id, part_number, status)"
                    f" VALUES {sql} ON CONFLICT DO NOTHING", params,
                )
            rows = [(a.message_id, a.carrier_id, _ts(a.started_at), _ts(a.finished_at), a.outcome,
                     a.error_code[:64], a.error[:255]) for a in attempts]
            for chunk in _chunks(rows):
                sql, params = _values(chunk)
                cursor.execute(
                    "INSERT INTO sms_deliveryattempt (message_id, carrier_id, started_at, finished_at, outcome,"
                    f" error_code, error) VALUES {sql}", params,
                )
            # Receipts of this flush for these parts are found below; held ones (stored earlier,
            # possibly by another process) are looked up once.
            for carrier_id, items in _held_receipts(cursor, pending_parts).items():
                receipts = {**receipts, carrier_id: items + list(receipts.get(carrier_id, []))}
        if finals:
            _refund(moved.get(S.CALL_FAILED, []))
        for carrier_id, items in receipts.items():
            carrier_stats = stats.setdefault(carrier_id, [0, 0])
            for chunk in _chunks(items):
                _apply_chunk(cursor, carrier_id, chunk, counts, carrier_stats, moved)
    for status, ids in moved.items():
        _notify(status, ids)
    _record_submit_stats(attempts)
    stats = {cid: value for cid, value in stats.items() if any(value)}
    if stats:
        route_stats.record(stats)
    return {"moved": moved, **counts}


def _move_finals_sql(status: str, finals: list[Final], now, v: str = "v") -> tuple[str, str, list]:
    """(the VALUES list named `v`, the UPDATE ... FROM `v` RETURNING id, status, their params)."""
    allowed = _in_states(TRANSITIONS[status])
    moved_if = f"sms_message.status IN ({allowed})"
    stamps = "".join(
        f", {stamp} = CASE WHEN {moved_if} THEN %s ELSE sms_message.{stamp} END" for stamp in _STAMPS[status]
    )
    sql, params = _values([
        (f.message_id, f.carrier_name, f.carrier_message_ids[0] if f.carrier_message_ids else "", f.wire_parts,
         f.error_code[:64], f.error[:255], f.attempts)
        for f in finals
    ])
    update = (
        f"UPDATE sms_message SET status = CASE WHEN {moved_if} THEN %s ELSE sms_message.status END{stamps},"
        f" error_code = CASE WHEN {moved_if} THEN {v}.error_code ELSE sms_message.error_code END,"
        f" error = CASE WHEN {moved_if} THEN {v}.error ELSE sms_message.error END,"
        f" carrier = {v}.carrier, carrier_message_id = {v}.cmid, wire_parts = {v}.wire_parts,"
        f" attempts = sms_message.attempts + {v}.n, sealed = NULL"
        f" FROM {v} WHERE sms_message.id = {v}.id AND sms_message.status <> '{S.ACCEPTED}'"
        " RETURNING sms_message.id, sms_message.status"
    )
    return (f"{v}(id, carrier, cmid, wire_parts, error_code, error, n) AS (VALUES {sql})", update,
            [*params, status, *[_ts(now)] * len(_STAMPS[status])])


def _move_finals(cursor, status: str, finals: list[Final], now) -> list[int]:
    moved = []
    for chunk in _chunks(finals):
        values, update, params = _move_finals_sql(status, chunk, now)
        cursor.execute(f"WITH {values} {update}", params)
        moved += [row[0] for row in cursor.fetchall() if row[1] == status]
    return moved


_PARTS_INSERT = ("INSERT INTO sms_messagepart (message_id, carrier_id, carrier_message_id, part_number, status)"
                 " VALUES {} ON CONFLICT DO NOTHING")
_ATTEMPTS_INSERT = ("INSERT INTO sms_deliveryattempt (message_id, carrier_id, started_at, finished_at, outcome,"
                    " error_code, error) VALUES {}")
_HELD_COLUMNS = "id, carrier_message_id, delivered, error_code, raw, received_at, done_at"


def _attempt_rows(attempts: list[Attempt]) -> list[tuple]:
    return [(a.message_id, a.carrier_id, _ts(a.started_at), _ts(a.finished_at), a.outcome,
             a.error_code[:64], a.error[:255]) for a in attempts]


def _one_statement(finals, parts, attempts, pending_parts) -> bool:
    """Whether a flush's results go in one statement: on PostgreSQL (data-modifying CTEs), for one
    chunk's worth (bigger flushes are chunked as before), each message once."""
    return (connection.vendor == "postgresql" and len(finals) <= CHUNK and len(parts) <= CHUNK
            and len(attempts) <= CHUNK and sum(map(len, pending_parts.values())) <= CHUNK
            and len({f.message_id for f in finals}) == len(finals))


def _write_results_at_once(cursor, by_status, parts, attempts, pending_parts, now, moved) -> dict[int, list["_Item"]]:
    """`_move_finals` for each status, the parts' and the attempts' INSERTs and `_held_receipts`, as
    one statement. All of it sees the database as it was before the statement, as the separate
    statements did: held receipts were stored by earlier transactions, and nothing here reads what
    another part of it writes. The held receipts found, by carrier."""
    ctes, params, selects = [], [], []
    statuses = list(by_status)
    for i, status in enumerate(statuses):
        values, update, update_params = _move_finals_sql(status, by_status[status], now, v=f"v{i}")
        ctes += [values, f"u{i} AS ({update})"]
        params += update_params
        selects.append(f"SELECT {i}, id, NULL::text, NULL::boolean, NULL::text, NULL::text,"
                       f" NULL::timestamptz, NULL::timestamptz, status FROM u{i}")
    if parts:
        sql, part_params = _values(parts)
        ctes.append(f"p AS ({_PARTS_INSERT.format(sql)})")
        params += part_params
    if attempts:
        sql, attempt_params = _values(_attempt_rows(attempts))
        ctes.append(f"a AS ({_ATTEMPTS_INSERT.format(sql)})")
        params += attempt_params
    held_of = []
    for carrier_id, cmids in pending_parts.items():
        held_of.append(carrier_id)
        selects.append(
            f"SELECT {-len(held_of)}, {_HELD_COLUMNS}, NULL FROM sms_receipt WHERE state = '{ReceiptState.HELD}'"
            f" AND carrier_id = %s AND carrier_message_id IN ({_placeholders(len(cmids))})")
        params += [carrier_id, *cmids]
    cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}", params)
    found: dict[int, list[_Item]] = {}
    for kind, rid, cmid, delivered, code, raw, received_at, done_at, status in sorted(cursor.fetchall(),
                                                                                       key=lambda r: r[1]):
        if kind >= 0:
            if status == statuses[kind]:
                moved.setdefault(status, []).append(rid)
        else:
            found.setdefault(held_of[-kind - 1], []).append(_Item(
                CarrierReceipt(cmid, bool(delivered), code, raw, _dt(done_at)), _dt(received_at), rid,
            ))
    return found


def _record_submit_stats(attempts: list[Attempt]) -> None:
    """A carrier's rate also counts what it settled at submit: delivered at once, or refused."""
    counts: dict[int, list[int]] = {}
    for attempt in attempts:
        if attempt.outcome == AttemptOutcome.DELIVERED:
            counts.setdefault(attempt.carrier_id, [0, 0])[0] += 1
        elif attempt.outcome == AttemptOutcome.FAILED:
            counts.setdefault(attempt.carrier_id, [0, 0])[1] += 1
    if counts:
        route_stats.record(counts)


# --- receipts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    receipt: CarrierReceipt
    received_at: datetime
    receipt_id: int | None = None  # an already stored (held) receipt


def write_receipts(carrier_id: int, receipts: list[CarrierReceipt], *, received_at: datetime | None = None) -> dict:
    """Store receipts of one carrier and apply each to its record: found by (carrier, carrier message
    id); held when no record has that id yet (applied once the submit that names it is stored, or by
    the sweep); a duplicate changes nothing. Counts by outcome."""
    received_at = received_at or timezone.now()
    return _apply_receipts(carrier_id, [_Item(r, received_at) for r in receipts])


def write_receipt_batch(carrier_id: int, receipts: list[tuple[CarrierReceipt, datetime]]) -> dict:
    """`write_receipts` for receipts that each came at their own time (the receipt writer's batches)."""
    return _apply_receipts(carrier_id, [_Item(r, received_at) for r, received_at in receipts])


def _apply_receipts(carrier_id: int, items: list[_Item]) -> dict:
    result = write_batch([], [], {carrier_id: items})
    return {key: result[key] for key in ("applied", "held", "duplicate")}


def _apply_chunk(cursor, carrier_id, items: list[_Item], counts, stats, moved) -> None:
    now = timezone.now()
    cmids = sorted({item.receipt.carrier_message_id for item in items})
    cursor.execute(
        "SELECT p.id, p.message_id, p.carrier_message_id, p.status, m.submitted_at,"
        " (SELECT count(*) FROM sms_messagepart q WHERE q.message_id = p.message_id)"
        " FROM sms_messagepart p JOIN sms_message m ON m.id = p.message_id"
        f" WHERE p.carrier_id = %s AND p.carrier_message_id IN ({_placeholders(len(cmids))})",
        [carrier_id, *cmids],
    )
    parts = {row[2]: row for row in cursor.fetchall()}
    part_updates = {PartStatus.DELIVERED: [], PartStatus.FAILED: []}
    single = {S.DELIVERED: [], S.DELIVERY_FAILED: []}
    multi: set[int] = set()
    failed_codes: dict[int, str] = {}
    rows = []  # receipt rows: (receipt_id, state, message_id, applied_at, delay_ms, item)
    for item in items:
        receipt = item.receipt
        part = parts.get(receipt.carrier_message_id)
        if part is None:
            rows.append((item, ReceiptState.HELD, None, None, None))
            counts["held"] += 1
            continue
        part_id, message_id, cmid, part_status, submitted_at, n_parts = part
        if part_status != PartStatus.PENDING:
            rows.append((item, ReceiptState.DUPLICATE, message_id, None, None))
            counts["duplicate"] += 1
            continue
        new_status = PartStatus.DELIVERED if receipt.delivered else PartStatus.FAILED
        parts[cmid] = (part_id, message_id, cmid, new_status, submitted_at, n_parts)  # a second one is a duplicate
        part_updates[new_status].append(part_id)
        submitted = _dt(submitted_at)
        delay = max(0, int((item.received_at - submitted).total_seconds() * 1000)) if submitted else None
        rows.append((item, ReceiptState.APPLIED, message_id, now, delay))
        counts["applied"] += 1
        stats[0 if receipt.delivered else 1] += 1
        if not receipt.delivered:
            failed_codes.setdefault(message_id, receipt.error_code)
        if n_parts > 1:
            multi.add(message_id)
        else:
            single[S.DELIVERED if receipt.delivered else S.DELIVERY_FAILED].append(message_id)
    new = [(carrier_id, r[0].receipt.carrier_message_id[:64], r[0].receipt.delivered, r[0].receipt.error_code[:64],
            r[0].receipt.raw, _ts(r[0].received_at), _ts(r[0].receipt.done_at) if r[0].receipt.done_at else None,
            r[1], r[2], _ts(r[3]) if r[3] else None, r[4]) for r in rows if r[0].receipt_id is None]
    stored = [r for r in rows if r[0].receipt_id is not None and r[1] != ReceiptState.HELD]
    if not multi and connection.vendor == "postgresql":
        _apply_at_once(cursor, part_updates, single, failed_codes, new, stored, now, moved)
        return
    for status, ids in part_updates.items():
        if ids:
            cursor.execute(f"UPDATE sms_messagepart SET status = %s WHERE id IN ({_placeholders(len(ids))})"
                           f" AND status = '{PartStatus.PENDING}'", [status, *ids])
    if multi:
        # A multi-part message is delivered when all its parts are, delivery failed as soon as one fails.
        ids = sorted(multi)
        cursor.execute(
            "SELECT message_id, count(*), sum(CASE WHEN status = %s THEN 1 ELSE 0 END),"
            " sum(CASE WHEN status = %s THEN 1 ELSE 0 END) FROM sms_messagepart"
            f" WHERE message_id IN ({_placeholders(len(ids))}) GROUP BY message_id",
            [PartStatus.DELIVERED, PartStatus.FAILED, *ids],
        )
        for message_id, total, delivered, failed in cursor.fetchall():
            if failed:
                single[S.DELIVERY_FAILED].append(message_id)
            elif delivered == total:
                single[S.DELIVERED].append(message_id)
    if single[S.DELIVERED]:
        ids = sorted(set(single[S.DELIVERED]))
        cursor.execute(
            f"UPDATE sms_message SET status = %s, finished_at = %s WHERE id IN ({_placeholders(len(ids))})"
            f" AND status IN ({_in_states(TRANSITIONS[S.DELIVERED])}) RETURNING id",
            [S.DELIVERED, _ts(now), *ids],
        )
        moved.setdefault(S.DELIVERED, []).extend(row[0] for row in cursor.fetchall())
    if single[S.DELIVERY_FAILED]:
        sql, params = _values([(mid, failed_codes.get(mid, "")[:64], _failure_text(failed_codes.get(mid, "")))
                               for mid in sorted(set(single[S.DELIVERY_FAILED]))])
        cursor.execute(
            f"WITH v(id, code, error) AS (VALUES {sql}) UPDATE sms_message SET status = %s, finished_at = %s,"
            " error_code = v.code, error = v.error FROM v WHERE sms_message.id = v.id"
            f" AND sms_message.status IN ({_in_states(TRANSITIONS[S.DELIVERY_FAILED])}) RETURNING sms_message.id",
            [*params, S.DELIVERY_FAILED, _ts(now)],
        )
        moved.setdefault(S.DELIVERY_FAILED, []).extend(row[0] for row in cursor.fetchall())
    if new:
        sql, params = _values(new)
        cursor.execute(_RECEIPTS_INSERT.format(sql), params)
    if stored:
        values, update, params = _stored_receipts_sql(stored, now)
        cursor.execute(f"WITH {values} {update}", params)


_RECEIPTS_INSERT = ("INSERT INTO sms_receipt (carrier_id, carrier_message_id, delivered, error_code, raw, received_at,"
                    " done_at, state, message_id, applied_at, delay_ms) VALUES {}")


def _stored_receipts_sql(stored, now, v: str = "v") -> tuple[str, str, list]:
    sql, params = _values([(r[0].receipt_id, r[1], r[2], r[4] if r[4] is not None else -1) for r in stored])
    return (f"{v}(id, state, message_id, delay) AS (VALUES {sql})",
            f"UPDATE sms_receipt SET state = {v}.state, message_id = {v}.message_id, applied_at = %s,"
            f" delay_ms = CASE WHEN {v}.delay < 0 THEN NULL ELSE {v}.delay END FROM {v} WHERE sms_receipt.id = {v}.id",
            [*params, _ts(now)])


def _apply_at_once(cursor, part_updates, single, failed_codes, new, stored, now, moved) -> None:
    """PostgreSQL, receipts of single-part messages: the parts', the records' and the receipts'
    statements of `_apply_chunk` as one (data-modifying CTEs; each row is changed by one of them, and
    none reads what another writes). Multi-part messages take the statements one by one: whether such
    a message is done depends on its parts' statuses once updated."""
    ctes, params, selects = [], [], []
    for i, (status, ids) in enumerate(part_updates.items()):
        if ids:
            ctes.append(f"p{i} AS (UPDATE sms_messagepart SET status = %s WHERE id IN ({_placeholders(len(ids))})"
                        f" AND status = '{PartStatus.PENDING}')")
            params += [status, *ids]
    if single[S.DELIVERED]:
        ids = sorted(set(single[S.DELIVERED]))
        ctes.append(f"md AS (UPDATE sms_message SET status = %s, finished_at = %s WHERE id IN ({_placeholders(len(ids))})"
                    f" AND status IN ({_in_states(TRANSITIONS[S.DELIVERED])}) RETURNING id)")
        params += [S.DELIVERED, _ts(now), *ids]
        selects.append("SELECT 0, id FROM md")
    if single[S.DELIVERY_FAILED]:
        sql, values = _values([(mid, failed_codes.get(mid, "")[:64], _failure_text(failed_codes.get(mid, "")))
                               for mid in sorted(set(single[S.DELIVERY_FAILED]))])
        ctes += [f"vf(id, code, error) AS (VALUES {sql})",
                 "mf AS (UPDATE sms_message SET status = %s, finished_at = %s, error_code = vf.code, error = vf.error"
                 " FROM vf WHERE sms_message.id = vf.id"
                 f" AND sms_message.status IN ({_in_states(TRANSITIONS[S.DELIVERY_FAILED])}) RETURNING sms_message.id)"]
        params += [*values, S.DELIVERY_FAILED, _ts(now)]
        selects.append("SELECT 1, id FROM mf")
    if new:
        sql, values = _values(new)
        ctes.append(f"r AS ({_RECEIPTS_INSERT.format(sql)})")
        params += values
    if stored:
        values, update, stored_params = _stored_receipts_sql(stored, now, v="vs")
        ctes += [values, f"s AS ({update})"]
        params += stored_params
    if not ctes:
        return
    cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects) or 'SELECT 0, 0 WHERE false'}", params)
    for kind, message_id in cursor.fetchall():
        moved.setdefault(S.DELIVERED if kind == 0 else S.DELIVERY_FAILED, []).append(message_id)


def _failure_text(code: str) -> str:
    return f"delivery failed ({code})" if code else "delivery failed"


def _held_receipts(cursor, cmids_by_carrier: dict[int, list[str]]) -> dict[int, list[_Item]]:
    found: dict[int, list[_Item]] = {}
    for carrier_id, cmids in cmids_by_carrier.items():
        for chunk in _chunks(cmids):
            cursor.execute(
                "SELECT id, carrier_message_id, delivered, error_code, raw, received_at, done_at FROM sms_receipt"
                f" WHERE state = '{ReceiptState.HELD}' AND carrier_id = %s"
                f" AND carrier_message_id IN ({_placeholders(len(chunk))}) ORDER BY id",
                [carrier_id, *chunk],
            )
            for rid, cmid, delivered, code, raw, received_at, done_at in cursor.fetchall():
                found.setdefault(carrier_id, []).append(_Item(
                    CarrierReceipt(cmid, bool(delivered), code, raw, _dt(done_at)), _dt(received_at), rid,
                ))
    return found


def reapply_held_receipts(*, hold: timedelta, limit: int = 5000) -> dict:
    """The sweep: held receipts applied again (their submit may have been stored since, by another
    process); those held longer than `hold` are logged and kept as unknown ids."""
    from .models import Receipt

    now = timezone.now()
    counts = {"applied": 0, "held": 0, "duplicate": 0, "unknown": 0}
    held = list(Receipt.objects.filter(state=ReceiptState.HELD).order_by("id")
                .values_list("id", "carrier_id", "carrier_message_id", "delivered", "error_code", "raw",
                             "received_at", "done_at")[:limit])
    by_carrier: dict[int, list[_Item]] = {}
    for rid, carrier_id, cmid, delivered, code, raw, received_at, done_at in held:
        by_carrier.setdefault(carrier_id, []).append(
            _Item(CarrierReceipt(cmid, delivered, code, raw, done_at), received_at, rid))
    for carrier_id, items in by_carrier.items():
        for key, value in _apply_receipts(carrier_id, items).items():
            counts[key] += value
    stale = Receipt.objects.filter(state=ReceiptState.HELD, received_at__lt=now - hold)
    for rid, carrier_id, cmid in stale.values_list("id", "carrier_id", "carrier_message_id")[:limit]:
        logger.warning("Receipt %s of carrier %s names an unknown message id %r: kept as unknown", rid, carrier_id, cmid)
        counts["unknown"] += 1
    stale.update(state=ReceiptState.UNKNOWN)
    return counts


# --- verification and the timeouts ------------------------------------------------------------------

def mark_verified(message_id: int, *, now: datetime | None = None) -> bool:
    from .models import Message

    moved = Message.objects.filter(id=message_id).move_to(S.VERIFIED, verified_at=now or timezone.now())
    _notify(S.VERIFIED, [message_id] if moved else [])
    return bool(moved)


def expire_waiting_receipts(*, timeout: timedelta, limit: int = 10000) -> int:
    """Records still waiting for a receipt `timeout` after their submit: the status stays
    waiting_receipt (the seed's 等待回执, a visible final state), finished with a reason."""
    from .models import Message

    now = timezone.now()
    hours = timeout.total_seconds() / 3600
    ids = list(Message.objects.filter(status=S.WAITING_RECEIPT, finished_at__isnull=True,
                                      submitted_at__lt=now - timeout)
               .order_by("submitted_at").values_list("id", flat=True)[:limit])
    if not ids:
        return 0
    return Message.objects.filter(id__in=ids, status=S.WAITING_RECEIPT, finished_at__isnull=True).update(
        finished_at=now, error_code="no_receipt", error=f"no receipt within {hours:g} h",
    )
