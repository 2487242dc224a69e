"""The receipt writer: one thread per process that writes the receipts adapters hand it, in batches.

Adapters read receipts on their own threads (an SMPP bind's receipt thread) and call their sink,
which only appends to this writer's buffer. The writer wakes when the first receipt of a batch
arrives and writes once SMS_RECEIPT_BATCH receipts are waiting or SMS_RECEIPT_LINGER_MS have passed,
through `send_records.write_receipts` (one transaction per carrier and batch). A failed write is
retried (with backoff) with the receipts kept in memory; `flush()` and `close()` write what is left.
"""
import logging
import threading
import time

from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection
from django.utils import timezone

from . import send_records

logger = logging.getLogger(__name__)


class ReceiptWriter:
    def __init__(self, *, batch: int | None = None, linger_ms: float | None = None):
        self.batch = batch or settings.SMS_RECEIPT_BATCH
        self.linger = (settings.SMS_RECEIPT_LINGER_MS if linger_ms is None else linger_ms) / 1000
        self._buffer: list[tuple[int, object, object]] = []  # (carrier id, receipt, received_at)
        self._last_arrival = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = False
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="sms-receipt-writer", daemon=True)
        self._thread.start()

    def add(self, carrier_id: int, receipts) -> None:
        if not receipts:
            return
        now = timezone.now()
        with self._cond:
            self._buffer.extend((carrier_id, receipt, now) for receipt in receipts)
            self._last_arrival = time.monotonic()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._buffer and not self._stopping:
                    self._cond.wait(1.0)
                if not self._buffer and self._stopping:
                    return
                deadline = time.monotonic() + self.linger
                while len(self._buffer) < self.batch and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                taken, self._buffer = self._buffer[:self.batch], self._buffer[self.batch:]
                arrived = self._last_arrival
                self._busy = True
            try:
                # This process's submits that began before these receipts came are recorded first.
                send_records.submits_in_flight.wait_for_those_before(arrived, timeout=5.0)
                self._write(taken)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, taken) -> None:
        by_carrier: dict[int, list] = {}
        for carrier_id, receipt, received_at in taken:
            by_carrier.setdefault(carrier_id, []).append((receipt, received_at))
        delay = 0.1
        for carrier_id, receipts in by_carrier.items():
            while True:
                try:
                    send_records.write_receipt_batch(carrier_id, receipts)
                    self.written += len(receipts)
                    break
                except (IntegrityError, DataError):  # not transient (e.g. its carrier row is gone)
                    logger.exception("Dropping %d receipts of carrier %s that cannot be written",
                                     len(receipts), carrier_id)
                    break
                except Exception:  # noqa: BLE001 - keep them and try again
                    logger.exception("Writing %d receipts of carrier %s failed; retrying", len(receipts), carrier_id)
                    try:
                        connection.close()
                    except Exception:  # noqa: BLE001
                        pass
                    if self._stopping and delay > 2:
                        logger.error("Giving up %d receipts of carrier %s at shutdown", len(receipts), carrier_id)
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
        close_old_connections()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over so far is written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify()
            while self._buffer or self._busy:
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
