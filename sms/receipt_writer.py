"""The writer: one thread per process that writes, in batches, the receipts adapters hand it and the
submit results its delivery loop hands it.

Adapters read receipts on their own threads (an SMPP bind's receipt thread) and call their sink,
which only appends to this writer's buffer; the delivery loop appends each batch's results the same
way and goes on to its next batch at once. The writer wakes when the first item arrives (and, while
items keep coming, on a timer a linger after its last write, without being woken by each) and writes
once SMS_RECEIPT_BATCH items wait or SMS_RECEIPT_LINGER_MS have passed, everything in one
transaction (`send_records.write_batch`: results first, so receipts of the same flush find their
parts). Before it takes a batch it waits (bounded) for this process's submits that began before its
receipts arrived, so that a receipt that beats its submit's answer is applied at once rather than
held. A failed write is retried with backoff (receipts kept in memory); results that cannot be
written at all end as call failed with the reason. `flush()` and `close()` write what is left.
"""
import logging
import threading
import time

from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection
from django.utils import timezone

from . import send_records

logger = logging.getLogger(__name__)
RESULTS_RETRY_SECONDS = 60.0


class ReceiptWriter:
    def __init__(self, *, batch: int | None = None, linger_ms: float | None = None):
        self.batch = batch or settings.SMS_RECEIPT_BATCH
        self.linger = (settings.SMS_RECEIPT_LINGER_MS if linger_ms is None else linger_ms) / 1000
        self._receipts: list[tuple[int, object, object]] = []  # (carrier id, receipt, received_at)
        self._results: list[tuple[list, list, object]] = []    # (finals, attempts, on_written)
        self._pending = 0
        self._unwritten_results = 0  # finals handed over and not yet written (taken or not)
        self._last_arrival = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = False
        self._idle = False
        self._flushed_at = 0.0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="sms-writer", daemon=True)
        self._thread.start()

    def add(self, carrier_id: int, receipts) -> None:
        """An adapter's sink: receipts it read."""
        if not receipts:
            return
        now = timezone.now()
        with self._cond:
            self._receipts.extend((carrier_id, receipt, now) for receipt in receipts)
            self._arrived(len(receipts))
            self._last_arrival = time.monotonic()

    def add_results(self, finals, attempts, on_written=None) -> None:
        """A delivery loop's batch: written with the next flush; then `on_written(message ids)`."""
        with self._cond:
            self._results.append((finals, attempts, on_written))
            self._unwritten_results += len(finals)
            self._arrived(len(finals))

    def _arrived(self, n: int) -> None:
        """Under the condition. The writer is woken by the first item when it is idle and by the one
        that fills a batch; not by every item in between (it lingers until its deadline). While items
        keep coming it writes every SMS_RECEIPT_LINGER_MS on a timer, without being woken at all."""
        self._pending += n
        if self._idle or self._pending >= self.batch:
            self._cond.notify_all()

    def wait_room(self, limit: int, timeout: float = 30.0) -> bool:
        """Block while `limit` or more handed-over results are not yet written: a delivery loop never
        runs more than a batch ahead of its writer (what a kill leaves ambiguous stays bounded)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._unwritten_results >= limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def _run(self) -> None:
        flowing = False  # the last round wrote something: the next one is due a linger after it
        while True:
            with self._cond:
                if flowing:
                    deadline = self._flushed_at + self.linger
                else:
                    self._idle = True  # the first item to arrive wakes it; none while it lingers
                    while not self._pending and not self._stopping:
                        self._cond.wait()  # woken by the first item, flush() or close(): no timed wake-ups
                    self._idle = False
                    deadline = time.monotonic() + self.linger
                while self._pending < self.batch and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if not self._pending:
                    if self._stopping:
                        return
                    flowing = False
                    continue
                arrived = self._last_arrival
                self._busy = True
            results = []
            try:
                # This process's submits that began before these receipts came hand their results first.
                send_records.submits_in_flight.wait_for_those_before(arrived, timeout=5.0)
                with self._cond:
                    receipts, self._receipts = self._receipts[:self.batch * 2], self._receipts[self.batch * 2:]
                    results, self._results = self._results, []
                    self._pending -= len(receipts) + sum(len(r[0]) for r in results)
                self._write(results, receipts)
            finally:
                with self._cond:
                    self._unwritten_results -= sum(len(r[0]) for r in results)
                    self._busy = False
                    self._flushed_at = time.monotonic()
                    self._cond.notify_all()
            flowing = True

    def _write(self, results, receipts) -> None:
        by_carrier: dict[int, list] = {}
        for carrier_id, receipt, received_at in receipts:
            by_carrier.setdefault(carrier_id, []).append(send_records._Item(receipt, received_at))
        finals = [f for r in results for f in r[0]]
        attempts = [a for r in results for a in r[1]]
        delay, deadline = 0.1, time.monotonic() + RESULTS_RETRY_SECONDS
        written = False
        while True:
            try:
                send_records.write_batch(finals, attempts, by_carrier)
                self.written += len(receipts) + len(finals)
                written = True
                break
            except (IntegrityError, DataError):  # not transient (e.g. a carrier row is gone): split and settle
                logger.exception("A batch of %d results and %d receipts cannot be written", len(finals), len(receipts))
                written = self._write_apart(finals, attempts, by_carrier)
                break
            except Exception:  # noqa: BLE001 - keep everything and try again
                logger.exception("Writing %d results and %d receipts failed; retrying", len(finals), len(receipts))
                try:
                    connection.close()
                except Exception:  # noqa: BLE001
                    pass
                if time.monotonic() > deadline or (self._stopping and delay > 2):
                    logger.error("Giving up %d results (left sending: the stuck-sending sweep settles them)"
                                 " and %d receipts", len(finals), len(receipts))
                    break
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        # Only what is written (or settled) leaves its loop's journal: the rest stays ambiguous for recovery.
        for batch_finals, _, on_written in results if written else ():
            if on_written is not None:
                try:
                    on_written([f.message_id for f in batch_finals])
                except Exception:  # noqa: BLE001
                    logger.exception("on_written failed")
        close_old_connections()

    @staticmethod
    def _write_apart(finals, attempts, by_carrier) -> bool:
        written = True
        try:
            send_records.write_batch(finals, attempts, {})
        except (IntegrityError, DataError) as exc:
            try:
                send_records.settle_lost([f.message_id for f in finals],
                                         reason=f"the carrier's answer could not be recorded ({type(exc).__name__})")
            except Exception:  # noqa: BLE001
                logger.exception("Could not settle %d results", len(finals))
                written = False
        for carrier_id, items in by_carrier.items():
            try:
                send_records.write_batch([], [], {carrier_id: items})
            except (IntegrityError, DataError):
                logger.exception("Dropping %d receipts of carrier %s that cannot be written", len(items), carrier_id)
        return written

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over so far is written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify()
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)


_writer: ReceiptWriter | None = None
_lock = threading.Lock()


def receipt_writer() -> ReceiptWriter:
    global _writer
    if _writer is None:
        with _lock:
            if _writer is None:
                _writer = ReceiptWriter()
    return _writer


def close_receipt_writer(timeout: float = 10.0) -> None:
    global _writer
    with _lock:
        writer, _writer = _writer, None
    if writer is not None:
        writer.close(timeout)
