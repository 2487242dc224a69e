"""The delivery loop: a thread in each Celery worker instance's main process that holds this
process's carrier adapters (SMPP binds: long-lived, reading receipts all along) and takes accepted
ids straight from the Redis delivery queue. Started by a worker bootstep after the pool (so forked
children inherit no carrier socket), stopped on warm shutdown after its batch is written.

Batching does not depend on load: once the first id of a batch arrives, the loop gathers for as long
as it takes SMS_DELIVERY_TARGET_BATCH ids to arrive at the rate ids have been coming, but never more
than SMS_DELIVERY_LINGER_MS after the first one (the bound on the delay batching adds), then takes
what came in one more Redis call (up to SMS_DELIVERY_BATCH). So the linger grows toward its bound
when the rate is low, batches stay a few messages even at 50 msg/s, and the per-batch work is shared.

Nothing sent twice, nothing lost, nothing stuck: each loop has an id, a heartbeat key in Redis
(SMS_LOOP_HEARTBEAT_SECONDS, renewed every few seconds with SET XX: once expired it never comes back)
and a journal (a Redis set). Claimed messages record the loop's id (`claimed_by`). The adapters call
`journal(ids)` right before those messages may leave the process: one Lua call that adds them only
while the heartbeat lives (else the loop stops handing anything to carriers and takes a new id). Ids
leave the journal once their results are written. `recover_stuck_sending` (Celery beat) settles the
`sending` messages of a loop whose heartbeat expired: those in its journal may have gone out ->
call_failed "worker lost before the carrier answered"; the others were certainly never sent -> back
to accepted and queued again (they go once). A loop that stops making progress for
SMS_LOOP_STALL_SECONDS stops renewing its heartbeat. Without Redis, a `sending` message older than
SMS_SENDING_LEASE_SECONDS is settled as call_failed with that reason.
"""
import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from celery import bootsteps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from smsplatform.redis_client import redis_client

from . import delivery, send_records
from .carriers.registry import get_registry
from .delivery_queue import get_delivery_queue
from .models import Message, MessageStatus
from .receipt_writer import receipt_writer

logger = logging.getLogger(__name__)

ALIVE = "smsp-loop:{id}:alive"
BLOCKED_AFTER = 0.002  # a BLMPOP that took longer waited for its id (one already there answers at once)
JOURNAL = "smsp-loop:{id}:journal"

# ARGV: n, the n ids to add, then ids written since the last call (they leave the journal here: one
# round trip for both). Only while the heartbeat lives.
_JOURNAL = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  local n = tonumber(ARGV[1])
  if #ARGV > n + 1 then
    redis.call('SREM', KEYS[2], unpack(ARGV, n + 2))
  end
  redis.call('SADD', KEYS[2], unpack(ARGV, 2, n + 1))
  return 1
end
return 0
"""
FORGET_AT_ONCE = 1000  # more written ids than this waiting to leave the journal: one SREM now


def new_loop_id() -> str:
    return f"{socket.gethostname()[:16]}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryLoop:
    def __init__(self, *, queue=None, client=None, batch: int | None = None, linger_ms: float | None = None,
                 target: int | None = None):
        self.queue = queue or get_delivery_queue()
        self.client = client or self.queue.client
        self.batch = batch or settings.SMS_DELIVERY_BATCH
        self.linger = (settings.SMS_DELIVERY_LINGER_MS if linger_ms is None else linger_ms) / 1000
        self.target = max(1, min(self.batch, target or settings.SMS_DELIVERY_TARGET_BATCH))
        self._rate = 0.0  # ids per second, a moving average over batches (0: not known yet)
        self.ttl = max(2, int(settings.SMS_LOOP_HEARTBEAT_SECONDS))
        self._journal_script = self.client.register_script(_JOURNAL)
        self._forget: list[int] = []  # written ids that leave the journal with the next Redis call
        self._forget_lock = threading.Lock()
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._tick = time.monotonic()
        self._idle_since = time.monotonic()
        self._busy = False
        self.delivered = 0
        self.batches = 0
        self._identify()
        self._thread = threading.Thread(target=self._run, name="sms-delivery-loop", daemon=True)
        self._heartbeat = threading.Thread(target=self._beat, name="sms-delivery-heartbeat", daemon=True)

    # --- identity, heartbeat, journal ----------------------------------------------------------

    def _identify(self) -> None:
        if getattr(self, "journal_key", None):
            self._srem(self.journal_key, self._take_forget())  # written under the identity it leaves
        self.id = new_loop_id()
        self.alive_key = ALIVE.format(id=self.id)
        self.journal_key = JOURNAL.format(id=self.id)
        self.client.set(self.alive_key, str(time.time()), nx=True, ex=self.ttl)
        self._lost.clear()
        logger.info("Delivery loop %s started", self.id)

    def _beat(self) -> None:
        interval = max(0.5, self.ttl / 5)
        while not self._stop.wait(interval):
            stalled = self._busy and time.monotonic() - self._tick > settings.SMS_LOOP_STALL_SECONDS
            if stalled:
                logger.error("Delivery loop %s made no progress for %.0f s: letting its heartbeat expire",
                             self.id, time.monotonic() - self._tick)
                continue
            try:
                forget = self._take_forget()
                pipe = self.client.pipeline(transaction=False)
                pipe.set(self.alive_key, str(time.time()), xx=True, ex=self.ttl)
                if forget:
                    pipe.srem(self.journal_key, *forget)
                if not pipe.execute()[0]:
                    logger.error("Delivery loop %s lost its heartbeat; it takes a new id", self.id)
                    self._lost.set()
            except Exception:  # noqa: BLE001 - Redis away: the journal refuses until it is back
                logger.warning("Delivery loop %s could not renew its heartbeat", self.id, exc_info=True)

    def journal(self, message_ids: list[int]) -> None:
        """Called by adapters right before `message_ids` may leave the process."""
        if not message_ids:
            return
        journal_key = self.journal_key
        forget = self._take_forget()
        try:
            ok = self._journal_script(keys=[self.alive_key, journal_key],
                                      args=[len(message_ids), *message_ids, *forget])
        except Exception as exc:  # noqa: BLE001
            self._srem(journal_key, forget)
            raise delivery.LoopLost(f"journal unreachable: {exc}")
        if not ok:
            self._srem(journal_key, forget)
            self._lost.set()
            raise delivery.LoopLost("heartbeat expired")

    def _take_forget(self) -> list[int]:
        with self._forget_lock:
            forget, self._forget = self._forget, []
        return forget

    def _record(self, finals, attempts) -> None:
        """Hand a batch's results to this process's writer; its ids leave the journal once written."""
        writer = receipt_writer()
        journal_key = self.journal_key
        writer.add_results(finals, attempts, lambda ids: self._unjournal(ids, journal_key))

    def _unjournal(self, message_ids: list[int], journal_key: str | None = None) -> None:
        """Written ids leave the journal with this loop's next Redis call (the next journal call, or
        the heartbeat's within a few seconds); ids of an identity it left, or many at once, now.
        Until then they are harmless there: recovery only settles messages still `sending`."""
        if not message_ids:
            return
        journal_key = journal_key or self.journal_key
        if journal_key == self.journal_key and not self._stop.is_set():
            with self._forget_lock:
                self._forget.extend(message_ids)
                if len(self._forget) < FORGET_AT_ONCE:
                    return
                message_ids, self._forget = self._forget, []
        self._srem(journal_key, message_ids)

    def _srem(self, journal_key: str, message_ids: list[int]) -> None:
        try:
            if message_ids:
                self.client.srem(journal_key, *message_ids)
        except Exception:  # noqa: BLE001 - harmless: recovery finds them no longer `sending`
            logger.warning("Could not clear %d ids from journal %s", len(message_ids), journal_key)

    # --- the loop --------------------------------------------------------------------------------

    def start(self) -> "DeliveryLoop":
        self._thread.start()
        self._heartbeat.start()
        return self

    def _linger_for(self, have: int, waited: float) -> float:
        """How long to gather more: until `target` ids are expected at the rate seen so far, at most
        the linger bound less what the first id already waited."""
        left = self.linger - waited
        if self._rate > 0:
            left = min(left, (self.target - have) / self._rate)
        return left

    def _gather(self) -> list[int]:
        """A batch: whatever waits, as soon as one id is there (one BLMPOP), then, unless it is full,
        what arrives until the linger deadline (one LPOP). Ids found waiting already waited while the
        previous batch was delivered: that time counts against their linger. (Taking batches on a
        timer while ids keep coming saves the wake-up for the first id but, for the same bound on the
        delay, makes batches one id smaller: no better at 50 msg/s, see bench/README.md.)"""
        since = self._idle_since
        asked = time.monotonic()
        ids = self.queue.wait_many(1.0, self.batch)
        now = time.monotonic()
        if not ids:
            self._idle_since = now
            self._rate *= 0.5  # a second without an id: the rate is low
            return []
        if len(ids) < self.batch:
            # One id after a wait: it has just come. Otherwise what came may have waited since the
            # last batch was taken: count all that time against the linger.
            blocked = len(ids) == 1 and now - asked > BLOCKED_AFTER
            waited = 0.0 if blocked else now - since
            left = self._linger_for(len(ids), waited)
            if left > 0:
                self._stop.wait(left)
            ids += self.queue.take(self.batch - len(ids))
        self._note_rate(len(ids), since)
        return ids

    def _note_rate(self, n: int, since: float) -> None:
        span = time.monotonic() - since
        if span > 0:
            seen = n / span
            self._rate = seen if not self._rate else 0.7 * self._rate + 0.3 * seen

    def _run(self) -> None:
        while not self._stop.is_set():
            self._tick = time.monotonic()
            if self._lost.is_set():
                self._identify()
            try:
                # Never more than a batch ahead of the writer (one batch is written while the next is
                # submitted): a kill leaves at most those two batches ambiguous.
                receipt_writer().wait_room(self.batch + 1)
                ids = self._gather()
            except Exception:  # noqa: BLE001 - Redis away: wait and try again
                logger.warning("Delivery loop %s cannot read the queue", self.id, exc_info=True)
                self._stop.wait(1.0)
                continue
            if not ids:
                continue
            self._idle_since = time.monotonic()  # ids that arrive from now on wait for this batch
            self._busy = True
            self._tick = time.monotonic()
            try:
                self.delivered += delivery.deliver_messages(ids, loop_id=self.id, journal=self.journal,
                                                            record=self._record)
                self.batches += 1
            except delivery.LoopLost:
                logger.error("Delivery loop %s lost its heartbeat mid-batch; recovery settles what it journaled", self.id)
            except Exception:  # noqa: BLE001 - left `sending`: recovery settles them
                logger.exception("Delivery loop %s failed a batch of %d", self.id, len(ids))
                try:
                    connection.close()
                except Exception:  # noqa: BLE001
                    pass
                self._stop.wait(0.5)
            finally:
                self._busy = False
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            pass

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand, write the receipts read so far, close the carriers, let go."""
        self._stop.set()
        self._thread.join(timeout)
        receipt_writer().flush(timeout=10.0)
        get_registry().close()
        receipt_writer().flush(timeout=5.0)
        self._srem(self.journal_key, self._take_forget())
        try:
            if not self.client.scard(self.journal_key):
                self.client.delete(self.alive_key, self.journal_key)
        except Exception:  # noqa: BLE001
            pass
        logger.info("Delivery loop %s stopped after %d messages", self.id, self.delivered)


class DeliveryLoopStep(bootsteps.StartStopStep):
    """`celery -A smsplatform worker`: run a delivery loop in the worker's main process (after the pool
    has forked its children). Off with SMS_DELIVERY_LOOP=false or without the Redis queue."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        self.loop = None
        super().__init__(worker, **kwargs)

    def start(self, worker):
        if not settings.SMS_DELIVERY_LOOP or worker.app.conf.task_always_eager or get_delivery_queue() is None:
            return
        self.loop = DeliveryLoop().start()

    def stop(self, worker):
        if self.loop is not None:
            loop, self.loop = self.loop, None
            loop.stop()

    def shutdown(self, worker):
        self.stop(worker)


# --- recovery (Celery beat) -------------------------------------------------------------------------

def loop_is_alive(client, loop_id: str) -> bool:
    return bool(client.exists(ALIVE.format(id=loop_id)))


def settle_stuck_sending() -> dict:
    """Settle `sending` messages whose holder is gone; {"lost": n, "given_back": [ids]} (the caller
    queues the ids given back)."""
    client = redis_client()
    now = timezone.now()
    lease = now - timedelta(seconds=settings.SMS_SENDING_LEASE_SECONDS)
    lost, given_back = 0, []
    holders = set(Message.objects.filter(status=MessageStatus.SENDING).values_list("claimed_by", flat=True).distinct())
    for loop_id in holders:
        sending = Message.objects.filter(status=MessageStatus.SENDING, claimed_by=loop_id)
        if not loop_id or client is None or loop_is_alive(client, loop_id):
            # Delivered inline (no loop), or a loop that lives but has held these past the lease.
            stuck = list(sending.filter(claimed_at__lt=lease).values_list("id", flat=True)[:5000])
            lost += len(send_records.settle_lost(stuck))
            continue
        journal_key = JOURNAL.format(id=loop_id)
        journaled = {int(i) for i in client.smembers(journal_key)}
        ids = list(sending.values_list("id", flat=True)[:50000])
        lost += len(send_records.settle_lost([i for i in ids if i in journaled]))
        given_back += send_records.give_back([i for i in ids if i not in journaled], loop_id=loop_id)
        if not Message.objects.filter(status=MessageStatus.SENDING, claimed_by=loop_id).exists():
            client.delete(journal_key)
    if lost or given_back:
        logger.warning("Stuck sending: %d settled as call failed (%s), %d given back to be sent",
                       lost, send_records.WORKER_LOST, len(given_back))
    return {"lost": lost, "given_back": given_back}
