"""A long-lived, windowed SMPP 3.4 transceiver bind on smpplib 2.2.4.

    bind = SmppBind("smsc.example", 2775, "system_id", "password", source_addr="BrandName",
                    on_receipts=handle_receipts)
    bind.start()                       # returns at once; connects and binds in the background
    results = bind.submit([SmppMessage(ref, "+8613800138000", "Your code is 123456")])
    ...
    bind.close()                       # waits for answers in flight, unbinds, stops its threads

Threads (all daemon threads, all stopped by close()):

* ``smpp-io-<system_id>``: connects, binds as transceiver, then reads every PDU for as long as the
  connection lives: submit_sm_resp (routed to the waiting submit by sequence number), deliver_sm /
  data_sm (answered at once with deliver_sm_resp / data_sm_resp, receipts queued for the callback
  thread), enquire_link (answered), enquire_link_resp, unbind, generic_nack. It sends enquire_link
  when nothing has been received for `enquire_link_interval` seconds; no answer within
  `response_timeout` means the connection is dead. It reconnects with backoff (`reconnect_backoff`
  doubling to `reconnect_backoff_max`) after a lost connection or a refused bind.
* ``smpp-receipts-<system_id>``: calls ``on_receipts(list[Receipt])`` with the receipts received so far
  (batches of up to `receipt_batch`, in arrival order) and ``on_message(InboundMessage)`` for MO
  messages. A slow callback never delays reading or the deliver_sm_resp; the deliver_sm_resp is sent
  when the receipt has been read, before the callback runs, so a receipt whose callback raises (or
  that is still queued when the process dies) is lost: the exception is logged. A receipt can reach
  the callback before submit() has returned its message id (some SMSCs send the deliver_sm before
  the submit_sm_resp): hold receipts whose id is not known yet. Each part has its own receipt.

Submits run in the calling thread: ``submit()`` writes up to `window` submit_sm PDUs (shared by all
threads that submit at once) and waits for their submit_sm_resp, sending more as answers come back.
Writes are serialised by one lock; answers are matched by sequence number.

Outcomes per message (`SmppResult.outcome`):

* ``accepted``: every part got submit_sm_resp ESME_ROK; `message_ids` holds each part's id, in order.
* ``failed``: a part was answered with an error status (`command_status`, `status_name`), or it could
  not be sent: no bind within `unreachable_after` seconds ("carrier unreachable"), the bind closed,
  an invalid destination, a text over 255 parts, or throttled more than `max_throttle_retries` times.
  Parts of that message not yet sent are then not sent. The caller may fail it over. A message
  with a failed part is failed even if another part is unknown.
* ``unknown``: a part was written but no answer came: the connection was lost, or no submit_sm_resp
  within `response_timeout`. The SMSC may have taken it; it is never re-sent.

ESME_RTHROTTLED (0x58) and ESME_RMSGQFUL (0x14) do not fail a message: the PDU is sent again after a
pause (`throttle_backoff`, doubling to `throttle_backoff_max` while throttling goes on), and the
window is halved, then grows back by one for every window's worth of accepted PDUs.
PDUs not yet written when the connection drops wait for the next bind, and go once.
"""
from __future__ import annotations

import enum
import itertools
import logging
import queue
import random
import re
import select
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from smpplib import client as smpp_client
from smpplib import consts
from smpplib import exceptions as smpp_exceptions
from smpplib import smpp

from .encoding import ESM_CLASS_UDHI, MessageTooLong, decode, encode_text
from .receipts import Receipt, make_receipt

log = logging.getLogger(__name__)

STATUS_NAMES: dict[int, str] = {
    value: name[len("SMPP_"):] for name, value in vars(consts).items() if name.startswith("SMPP_ESME_")
}
THROTTLING_STATUSES = frozenset({consts.SMPP_ESME_RTHROTTLED, consts.SMPP_ESME_RMSGQFUL})


def status_name(status: int) -> str:
    """ESME_RINVPASWD for 0x0E; the hex code for statuses smpplib does not name (vendor codes)."""
    return STATUS_NAMES.get(status, f"0x{status:08X}")


def _describe(status: int) -> str:
    return f"{status_name(status)} (0x{status:08X}): {consts.DESCRIPTIONS.get(status, 'vendor-specific status')}"


_HEADER = struct.Struct(">LLLL")
_SUBMIT_SM = 0x00000004
_GENERIC_NACK = 0x80000000
_SUBMIT_SM_RESP = 0x80000004
_DELIVER_SM = 0x00000005
_UNBIND = 0x00000006
_UNBIND_RESP = 0x80000006
_ENQUIRE_LINK = 0x00000015
_ENQUIRE_LINK_RESP = 0x80000015
_ALERT_NOTIFICATION = 0x00000102
_DATA_SM = 0x00000103
_MAX_PDU = 1 << 16
_E164 = re.compile(r"^\+[0-9]{1,20}$")


class SmppBindError(Exception):
    """Base of the errors this module raises."""


class BindRefused(SmppBindError):
    """The SMSC answered bind_transceiver with an error status (wrong password, unknown system_id...)."""

    def __init__(self, status: int):
        self.status = status
        self.status_name = status_name(status)
        super().__init__(f"bind_transceiver refused: {_describe(status)}")


class ConnectionLost(SmppBindError):
    pass


class BindState(str, enum.Enum):
    NEW = "new"  # not started
    CONNECTING = "connecting"
    BOUND = "bound"
    DISCONNECTED = "disconnected"  # connection lost or refused at TCP level; reconnecting with backoff
    REFUSED = "refused"  # the last bind_transceiver was answered with an error; retrying with backoff
    CLOSING = "closing"
    CLOSED = "closed"


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SmppMessage:
    """One outbound SMS. `to` is E.164 (``+8613800138000``); `source` overrides the bind's source
    address: ``+digits`` goes as international/ISDN, other digits with the bind's TON/NPI,
    anything else as alphanumeric (TON 5, NPI 0)."""

    reference: Any
    to: str
    text: str
    source: str | None = None


@dataclass(frozen=True)
class SmppResult:
    reference: Any
    outcome: Outcome
    message_ids: tuple[str, ...] = ()  # SMSC ids of the accepted parts, in part order
    parts: int = 0
    command_status: int | None = None  # the SMPP status of the failed part, None if none was answered
    status_name: str | None = None  # e.g. "ESME_RSUBMITFAIL"
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    @property
    def unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN


@dataclass(frozen=True)
class InboundMessage:
    """A deliver_sm that is not a receipt (an MO message)."""

    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    received_at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        payload = self.short_message
        if self.esm_class & ESM_CLASS_UDHI and payload:
            payload = payload[1 + payload[0]:]
        return decode(self.data_coding, payload)


class _SequenceGenerator:
    """smpplib's generator is not thread-safe; the reader thread and submitting threads both draw."""

    MAX = 0x7FFFFFFF

    def __init__(self):
        self._lock = threading.Lock()
        self._sequence = 0

    @property
    def sequence(self) -> int:
        return self._sequence

    def next_sequence(self) -> int:
        with self._lock:
            self._sequence = self._sequence % self.MAX + 1
            return self._sequence


class _ParseClient:
    """Given to smpplib when parsing or building responses, so that they draw no sequence number."""

    sequence = 0

    @staticmethod
    def next_sequence() -> int:
        return 0


_PARSER = _ParseClient()


class _Client(smpp_client.Client):
    """smpplib's client, with TCP_NODELAY and a thread-safe sequence generator."""

    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(
            host, port, timeout=timeout, sequence_generator=_SequenceGenerator(),
            logger_name=f"{__name__}.smpplib", allow_unknown_opt_params=True,
        )

    def connect(self):
        super().connect()
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def close_socket(self):
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None
        self.state = consts.SMPP_CLIENT_STATE_CLOSED


class _Connection:
    """One TCP connection in the bound state."""

    def __init__(self, client: _Client, number: int):
        self.client = client
        self.sock: socket.socket = client._socket
        self.number = number
        self.pending: dict[int, _Part] = {}  # sequence -> part, in the order written
        self.dead = False
        self.reason = ""
        now = time.monotonic()
        self.bound_at = now
        self.last_rx = now
        self.enquire_seq: int | None = None
        self.enquire_sent = 0.0
        self.unbind_done = threading.Event()

    def kill(self, reason: str):
        if not self.dead:
            self.dead = True
            self.reason = reason
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def write(self, chunks: list[bytes]) -> int:
        """Write PDUs (the caller holds the send lock); return how many were written whole."""
        if self.dead or not chunks:
            return 0
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        view = memoryview(data)
        sent = 0
        try:
            while sent < len(data):
                sent += self.sock.send(view[sent:])
        except OSError as exc:  # socket.timeout included: a write that cannot finish kills the link
            self.kill(f"write failed: {exc!r}")
        if sent == len(data):
            return len(chunks)
        whole = total = 0
        for chunk in chunks:
            total += len(chunk)
            if total > sent:
                break
            whole += 1
        return whole


_QUEUED, _INFLIGHT, _DONE = 0, 1, 2
_SKIPPED = "skipped"


class _Part:
    __slots__ = (
        "batch", "msg_index", "index", "esm_class", "short_message", "data_coding", "destination",
        "source", "state", "seq", "written", "sent_at", "throttles", "not_before", "outcome",
        "message_id", "status", "error",
    )

    def __init__(self, batch, msg_index, index, esm_class, short_message, data_coding, destination, source):
        self.batch = batch
        self.msg_index = msg_index
        self.index = index
        self.esm_class = esm_class
        self.short_message = short_message
        self.data_coding = data_coding
        self.destination = destination
        self.source = source  # (addr, ton, npi)
        self.state = _QUEUED
        self.seq = None
        self.written = False
        self.sent_at = 0.0
        self.throttles = 0
        self.not_before = 0.0
        self.outcome = None
        self.message_id = None
        self.status = None
        self.error = ""


class _Batch:
    """The parts of one submit() call."""

    def __init__(self):
        self.ready: deque[_Part] = deque()
        self.delayed: list[_Part] = []  # throttled, to go again at part.not_before
        self.open = 0
        self.down_since: float | None = None
        self.failed: set[int] = set()  # message indexes with a failed part


class SmppBind:
    """One SMPP transceiver bind. See the module docstring for threads, outcomes and throttling.

    host, port, system_id, password, system_type, address_range: the bind_transceiver.
    service_type: of every submit_sm (default empty).
    source_addr (+ source_addr_ton / source_addr_npi, guessed when None: "+digits" 1/1, digits 0/1,
        alphanumeric 5/0): the default sender; SmppMessage.source overrides it.
    window: submit_sm PDUs without an answer at once (all submitting threads together).
    enquire_link_interval: idle seconds (nothing received) before an enquire_link.
    connect_timeout: TCP connect. response_timeout: for bind_transceiver_resp, submit_sm_resp,
        enquire_link_resp, unbind_resp, and for a blocked write.
    reconnect_backoff, reconnect_backoff_max: first wait after a failure, doubling up to the max.
    unreachable_after: how long a submit waits for a bind before its unsent parts fail.
    throttle_backoff, throttle_backoff_max, max_throttle_retries: see the module docstring.
    on_receipts(list[Receipt]), on_message(InboundMessage): called on the smpp-receipts thread.
    receipts_inline: call on_receipts on the reader thread instead, with the receipts of each read (one
        thread wake-up less per group of receipts): only for a callback that is quick and never
        blocks (the SMPP adapter's: it appends to the receipt writer's buffer).
    registered_delivery: of every submit_sm (1: a receipt for success and failure).
    """

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        service_type: str = "",
        source_addr: str = "",
        source_addr_ton: int | None = None,
        source_addr_npi: int | None = None,
        address_range: str = "",
        window: int = 10,
        enquire_link_interval: float = 30.0,
        connect_timeout: float = 5.0,
        response_timeout: float = 10.0,
        reconnect_backoff: float = 0.5,
        reconnect_backoff_max: float = 30.0,
        unreachable_after: float = 10.0,
        throttle_backoff: float = 0.2,
        throttle_backoff_max: float = 5.0,
        max_throttle_retries: int = 20,
        on_receipts: Callable[[list[Receipt]], None] | None = None,
        on_message: Callable[[InboundMessage], None] | None = None,
        receipt_batch: int = 500,
        registered_delivery: int = 1,
        receipts_inline: bool = False,
    ):
        if window < 1:
            raise ValueError("window must be at least 1")
        self.host = host
        self.port = int(port)
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.service_type = service_type
        self.address_range = address_range
        self.source_addr, self.source_addr_ton, self.source_addr_npi = self._address(
            source_addr, source_addr_ton, source_addr_npi)
        self.window = window
        self.enquire_link_interval = enquire_link_interval
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.reconnect_backoff = reconnect_backoff
        self.reconnect_backoff_max = reconnect_backoff_max
        self.unreachable_after = unreachable_after
        self.throttle_backoff = throttle_backoff
        self.throttle_backoff_max = throttle_backoff_max
        self.max_throttle_retries = max_throttle_retries
        self.registered_delivery = registered_delivery
        self.receipt_batch = receipt_batch
        self.receipts_inline = receipts_inline
        self._on_receipts = on_receipts
        self._on_message = on_message

        self._cv = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._control: deque[tuple[_Connection, bytes]] = deque()  # responses waiting for the send lock
        self._stop = threading.Event()
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._references = itertools.count(random.randrange(256))
        self._threads: list[threading.Thread] = []

        self._state = BindState.NEW
        self._conn: _Connection | None = None
        self._closing = False
        self._last_error: Exception | None = None
        self._reserved = 0
        self._effective_window = window
        self._pause_until = 0.0
        self._throttle_delay = throttle_backoff
        self._last_throttle_at = float("-inf")
        self._ok_streak = 0
        self._backoff = 0.0
        self._connections = 0
        self._counters = dict.fromkeys(
            ("submitted", "accepted", "failed", "unknown", "throttled", "binds", "reconnects",
             "bind_failures", "connections_lost", "receipts", "inbound", "enquire_links_sent"), 0)

    # ----------------------------------------------------------------- public

    def start(self) -> "SmppBind":
        """Start the reader and callback threads; the bind happens in the background (see wait_bound)."""
        with self._cv:
            if self._state is not BindState.NEW:
                raise RuntimeError(f"this bind was already started ({self._state.value})")
            self._state = BindState.CONNECTING
        name = self.system_id or "bind"
        self._threads = [
            threading.Thread(target=self._run, name=f"smpp-io-{name}", daemon=True),
            threading.Thread(target=self._dispatch, name=f"smpp-receipts-{name}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def wait_bound(self, timeout: float | None = None) -> bool:
        """True once bound; False if not bound within `timeout` (see `state` and `last_error`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._state is not BindState.BOUND:
                if self._state in (BindState.CLOSING, BindState.CLOSED):
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cv.wait(remaining if remaining is not None else 1.0)
            return True

    @property
    def state(self) -> BindState:
        return self._state

    @property
    def bound(self) -> bool:
        return self._state is BindState.BOUND

    @property
    def last_error(self) -> Exception | None:
        """The last connect/bind failure or connection loss (a BindRefused when the bind was refused)."""
        return self._last_error

    def stats(self) -> dict:
        """Counters and state for an admin page. Counts are of PDUs (parts), not messages."""
        with self._cv:
            conn = self._conn
            return {
                "state": self._state.value,
                "bound": self._state is BindState.BOUND,
                "in_flight": len(conn.pending) if conn else 0,
                "window": self.window,
                "effective_window": self._effective_window,
                "throttle_pause": max(0.0, self._pause_until - time.monotonic()),
                "reconnect_backoff": self._backoff,
                "last_error": str(self._last_error) if self._last_error else "",
                "bound_for": time.monotonic() - conn.bound_at if conn else 0.0,
                **self._counters,
            }

    def submit(self, messages: Sequence[SmppMessage]) -> list[SmppResult]:
        """Send the messages (windowed); one SmppResult per message, in the same order.

        Blocks until every part is answered or given up: at most about `unreachable_after` while
        there is no bind, `response_timeout` for an answer, and the throttling retries."""
        if self._state is BindState.NEW:
            raise RuntimeError("call start() before submit()")
        batch = _Batch()
        results: list[SmppResult | None] = [None] * len(messages)
        plans: dict[int, list[_Part]] = {}
        for i, message in enumerate(messages):
            try:
                destination = self._destination(message.to)
                source = self._source_for(message.source)
                encoded = encode_text(message.text)
            except (ValueError, MessageTooLong) as exc:
                results[i] = SmppResult(message.reference, Outcome.FAILED, error=str(exc))
                continue
            reference = next(self._references) & 0xFF
            parts = [
                _Part(batch, i, k, esm_class, short_message, encoded.data_coding, destination, source)
                for k, (esm_class, short_message) in enumerate(encoded.short_messages(reference))
            ]
            plans[i] = parts
            batch.ready.extend(parts)
        batch.open = len(batch.ready)
        if batch.open:
            self._drive(batch)
        for i, parts in plans.items():
            results[i] = self._result(messages[i].reference, parts)
        return results  # type: ignore[return-value]

    def close(self, timeout: float | None = None) -> None:
        """Stop sending, wait (up to `timeout`, default response_timeout) for answers in flight,
        unbind, stop the threads. Parts still waiting for a bind fail with "bind closed"."""
        timeout = self.response_timeout if timeout is None else timeout
        with self._cv:
            if self._state in (BindState.NEW, BindState.CLOSED):
                self._state = BindState.CLOSED
                return
            if self._closing:
                return
            self._closing = True
            self._state = BindState.CLOSING
            self._cv.notify_all()
            deadline = time.monotonic() + timeout
            while self._conn is not None and (self._conn.pending or self._reserved):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cv.wait(remaining)
            conn = self._conn
        if conn is not None and not conn.dead:
            unbind = smpp.make_pdu("unbind", client=conn.client)
            self._send_control(conn, unbind.generate())
            conn.unbind_done.wait(min(timeout, self.response_timeout))
        self._stop.set()
        if conn is not None:
            conn.kill("closed by us")
        for thread in self._threads:
            if thread.name.startswith("smpp-io"):
                thread.join(timeout + 1)
        self._inbox.put(None)
        for thread in self._threads:
            if not thread.name.startswith("smpp-io"):
                thread.join(timeout + 1)
        with self._cv:
            self._state = BindState.CLOSED
            self._cv.notify_all()
        log.info("SMPP bind %s@%s:%s closed", self.system_id, self.host, self.port)

    def __enter__(self) -> "SmppBind":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------- addresses

    @staticmethod
    def _address(addr: str, ton: int | None, npi: int | None) -> tuple[str, int, int]:
        if addr.startswith("+") and addr[1:].isdigit():
            addr, guess = addr[1:], (consts.SMPP_TON_INTL, consts.SMPP_NPI_ISDN)
        elif addr.isdigit() or not addr:
            guess = (consts.SMPP_TON_UNK, consts.SMPP_NPI_ISDN)
        else:
            guess = (consts.SMPP_TON_ALNUM, consts.SMPP_NPI_UNK)
        return addr, guess[0] if ton is None else ton, guess[1] if npi is None else npi

    def _source_for(self, override: str | None) -> tuple[str, int, int]:
        if override is None:
            return self.source_addr, self.source_addr_ton, self.source_addr_npi
        if override.isdigit():
            return override, self.source_addr_ton, self.source_addr_npi
        return self._address(override, None, None)

    @staticmethod
    def _destination(to: str) -> str:
        if not _E164.match(to or ""):
            raise ValueError(f"destination {to!r} is not E.164 (+ and digits)")
        return to[1:]

    # ------------------------------------------------------------ submit

    def _drive(self, batch: _Batch) -> None:
        """Feed this call's parts into the shared window until every one is answered or given up."""
        cv = self._cv
        with cv:
            while batch.open > 0:
                now = time.monotonic()
                if batch.delayed:
                    due = [p for p in batch.delayed if p.not_before <= now]
                    if due:
                        batch.delayed = [p for p in batch.delayed if p.not_before > now]
                        batch.ready.extendleft(reversed(due))
                if self._closing:
                    self._fail_queued(batch, "bind closed before it was sent")
                    if batch.open:
                        cv.wait(0.5)
                    continue
                conn = self._conn
                if conn is not None and conn.dead:  # lost; the reader is about to notice
                    conn = None
                if conn is None:
                    if batch.down_since is None:
                        batch.down_since = now
                    elif now - batch.down_since >= self.unreachable_after:
                        why = f": {self._last_error}" if self._last_error else ""
                        self._fail_queued(batch, f"carrier unreachable: no bind for {self.unreachable_after:g}s{why}")
                        continue
                else:
                    batch.down_since = None
                if conn is not None and batch.ready and now >= self._pause_until:
                    free = self._effective_window - len(conn.pending) - self._reserved
                    if free > 0:
                        take: list[_Part] = []
                        while batch.ready and len(take) < free:
                            part = batch.ready.popleft()
                            if part.msg_index in batch.failed:
                                self._finish(part, _SKIPPED, error="not sent: another part of the message failed")
                                continue
                            take.append(part)
                        if take:
                            self._reserved += len(take)
                            cv.release()
                            try:
                                self._send(conn, take)
                            finally:
                                cv.acquire()
                        continue
                timeout = 0.5
                if batch.delayed:
                    timeout = min(timeout, min(p.not_before for p in batch.delayed) - now)
                if self._pause_until > now:
                    timeout = min(timeout, self._pause_until - now)
                if conn is None and batch.down_since is not None:
                    timeout = min(timeout, batch.down_since + self.unreachable_after - now)
                cv.wait(max(timeout, 0.001))

    def _submit_pdu_bytes(self, conn: _Connection, part: _Part) -> tuple[int, bytes]:
        """(sequence, the submit_sm PDU): what `_submit_pdu(...).generate()` makes, byte for byte,
        without smpplib's per-field machinery (about 80 us a PDU there, a few here)."""
        source, ton, npi = part.source
        sm = part.short_message or b""
        body = b"".join((
            _cstr(self.service_type, 6), bytes((ton, npi)), _cstr(source, 21),
            bytes((consts.SMPP_TON_INTL, consts.SMPP_NPI_ISDN)), _cstr(part.destination, 21),
            bytes((part.esm_class or 0, 0, 0, 0, 0, self.registered_delivery or 0, 0, part.data_coding or 0, 0,
                   len(sm))),
            sm,
        ))
        seq = conn.client.next_sequence()
        return seq, _HEADER.pack(16 + len(body), _SUBMIT_SM, 0, seq) + body

    def _submit_pdu(self, conn: _Connection, part: _Part):
        source, ton, npi = part.source
        return smpp.make_pdu(
            "submit_sm",
            client=conn.client,
            service_type=self.service_type or None,
            source_addr_ton=ton,
            source_addr_npi=npi,
            source_addr=source,
            dest_addr_ton=consts.SMPP_TON_INTL,
            dest_addr_npi=consts.SMPP_NPI_ISDN,
            destination_addr=part.destination,
            esm_class=part.esm_class,
            protocol_id=0,
            priority_flag=0,
            registered_delivery=self.registered_delivery,
            replace_if_present_flag=0,
            data_coding=part.data_coding,
            sm_default_msg_id=0,
            short_message=part.short_message,
        )

    def _send(self, conn: _Connection, parts: list[_Part]) -> None:
        """Register and write submit_sm PDUs; parts not written whole go back to their queue."""
        cv = self._cv
        with self._send_lock:
            built: list[tuple[_Part, int, bytes]] = []
            broken: list[tuple[_Part, str]] = []
            if not conn.dead and conn is self._conn:
                for part in parts:
                    try:
                        built.append((part, *self._submit_pdu_bytes(conn, part)))
                    except Exception as exc:  # e.g. a source address that is not Latin-1
                        broken.append((part, f"cannot build submit_sm: {exc!r}"))
            now = time.monotonic()
            with cv:
                self._reserved -= len(parts)
                if not built and not broken:  # the connection went away meanwhile
                    for part in reversed(parts):
                        part.batch.ready.appendleft(part)
                    cv.notify_all()
                    return
                for part, why in broken:
                    self._finish(part, Outcome.FAILED, error=why)
                for part, seq, _ in built:
                    part.state = _INFLIGHT
                    part.seq = seq
                    part.sent_at = now
                    part.written = False
                    conn.pending[seq] = part
            written = conn.write([data for _, _, data in built])
            with cv:
                again: list[_Part] = []
                for i, (part, seq, _) in enumerate(built):
                    if i < written:
                        part.written = True
                        self._counters["submitted"] += 1
                    elif conn.pending.get(seq) is part:  # never reached the SMSC whole: it goes again
                        del conn.pending[seq]
                        part.state = _QUEUED
                        again.append(part)
                for part in reversed(again):
                    part.batch.ready.appendleft(part)
                cv.notify_all()
            self._flush_control_locked()
        self._flush_control()

    def _finish(self, part: _Part, outcome, *, status: int | None = None, error: str = "", message_id=None):
        """Under the condition: the part is final."""
        if part.state == _DONE:
            return
        part.state = _DONE
        part.outcome = outcome
        part.status = status
        part.error = error
        part.message_id = message_id
        part.batch.open -= 1
        if outcome is Outcome.FAILED or outcome == _SKIPPED:
            part.batch.failed.add(part.msg_index)
        if outcome is Outcome.ACCEPTED:
            self._counters["accepted"] += 1
        elif outcome is Outcome.FAILED:
            self._counters["failed"] += 1
        elif outcome is Outcome.UNKNOWN:
            self._counters["unknown"] += 1

    def _fail_queued(self, batch: _Batch, why: str) -> None:
        for part in list(batch.ready) + batch.delayed:
            self._finish(part, Outcome.FAILED, error=why)
        batch.ready.clear()
        batch.delayed = []

    @staticmethod
    def _result(reference, parts: list[_Part]) -> SmppResult:
        ids = tuple(p.message_id for p in parts if p.outcome is Outcome.ACCEPTED)
        for part in parts:
            if part.outcome is Outcome.FAILED:
                return SmppResult(
                    reference, Outcome.FAILED, ids, len(parts), part.status,
                    status_name(part.status) if part.status is not None else None,
                    part.error if len(parts) == 1 else f"part {part.index + 1}/{len(parts)}: {part.error}",
                )
        for part in parts:
            if part.outcome is Outcome.UNKNOWN:
                return SmppResult(reference, Outcome.UNKNOWN, ids, len(parts), error=part.error)
        return SmppResult(reference, Outcome.ACCEPTED, ids, len(parts))

    def _answered(self, conn: _Connection, seq: int, status: int, message_id: str | None, now: float) -> bool:
        """Under the condition: a submit_sm_resp (or generic_nack) for `seq`."""
        part = conn.pending.pop(seq, None)
        if part is None:
            return False
        if status == consts.SMPP_ESME_ROK:
            self._finish(part, Outcome.ACCEPTED, message_id=message_id or "")
            self._ok_streak += 1
            if self._effective_window < self.window and self._ok_streak >= self._effective_window:
                self._effective_window += 1
                self._ok_streak = 0
                if self._effective_window == self.window:
                    self._throttle_delay = self.throttle_backoff
        elif status in THROTTLING_STATUSES:
            self._counters["throttled"] += 1
            part.throttles += 1
            if part.throttles > self.max_throttle_retries:
                self._finish(part, Outcome.FAILED, status=status,
                             error=f"{_describe(status)}; gave up after {part.throttles} tries")
                return True
            if part.sent_at >= self._last_throttle_at:  # sent after our last slow-down: slow down again
                if now - self._last_throttle_at < 4 * self._throttle_delay + 1.0:
                    self._throttle_delay = min(self.throttle_backoff_max, self._throttle_delay * 2)
                else:
                    self._throttle_delay = self.throttle_backoff
                self._last_throttle_at = now
                self._effective_window = max(1, self._effective_window // 2)
                self._ok_streak = 0
                self._pause_until = now + self._throttle_delay
                log.info("SMSC throttles (%s): window %d, pause %.2fs", status_name(status),
                         self._effective_window, self._throttle_delay)
            part.state = _QUEUED
            part.not_before = self._pause_until
            part.batch.delayed.append(part)
        else:
            self._finish(part, Outcome.FAILED, status=status, error=_describe(status))
        return True

    # ----------------------------------------------------- control PDUs

    def _send_control(self, conn: _Connection, data: bytes) -> None:
        """Queue a response/enquire_link; written now if the send lock is free, else by its holder."""
        self._control.append((conn, data))
        self._flush_control()

    def _flush_control(self) -> None:
        while self._control and self._send_lock.acquire(blocking=False):
            try:
                self._flush_control_locked()
            finally:
                self._send_lock.release()

    def _flush_control_locked(self) -> None:
        while self._control:
            batch: list[bytes] = []
            conn = self._control[0][0]
            while self._control and self._control[0][0] is conn:
                batch.append(self._control.popleft()[1])
            if not conn.dead:
                conn.write(batch)

    # ------------------------------------------------------- connection

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set() and not self._closing:
            try:
                conn = self._open()
            except Exception as exc:  # noqa: BLE001 - every failure to bind is retried
                attempt += 1
                self._bind_failed(exc)
                self._wait_backoff(attempt)
                continue
            attempt = 0
            with self._cv:
                if self._closing:
                    conn.client.close_socket()
                    break
                self._conn = conn
                self._state = BindState.BOUND
                self._backoff = 0.0
                self._last_error = None
                self._counters["binds"] += 1
                if self._counters["binds"] > 1:
                    self._counters["reconnects"] += 1
                self._cv.notify_all()
            log.info("SMPP bound as transceiver to %s:%s as %s", self.host, self.port, self.system_id)
            try:
                self._read_loop(conn)
                reason = conn.reason or "closed"
            except ConnectionLost as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - a reader bug must not kill the bind for good
                log.exception("SMPP reader failed")
                reason = f"reader error: {exc!r}"
            self._drop(conn, reason)
            if self._stop.is_set() or self._closing:
                break
            log.warning("SMPP connection to %s:%s lost (%s); reconnecting", self.host, self.port, reason)
            attempt = 1
            self._wait_backoff(attempt)

    def _open(self) -> _Connection:
        client = _Client(self.host, self.port, timeout=self.connect_timeout)
        try:
            try:
                client.connect()
            except smpp_exceptions.ConnectionError as exc:
                raise ConnectionLost(f"cannot connect to {self.host}:{self.port}") from exc
            client._socket.settimeout(self.response_timeout)
            try:
                resp = client.bind_transceiver(
                    system_id=self.system_id, password=self.password, system_type=self.system_type,
                    addr_ton=0, addr_npi=0, address_range=self.address_range,
                )
            except smpp_exceptions.PDUError as exc:
                status = exc.args[1] if len(exc.args) > 1 else consts.SMPP_ESME_RBINDFAIL
                raise BindRefused(int(status)) from None
            except smpp_exceptions.ConnectionError as exc:
                raise ConnectionLost("no bind_transceiver_resp (connection closed or timed out)") from exc
            if resp.command != "bind_transceiver_resp":
                raise ConnectionLost(f"expected bind_transceiver_resp, got {resp.command}")
        except BaseException:
            client.close_socket()
            raise
        self._connections += 1
        return _Connection(client, self._connections)

    def _bind_failed(self, exc: Exception) -> None:
        refused = isinstance(exc, BindRefused)
        with self._cv:
            self._last_error = exc
            self._counters["bind_failures"] += 1
            if not self._closing:
                self._state = BindState.REFUSED if refused else BindState.DISCONNECTED
            self._cv.notify_all()
        if refused:
            log.error("SMPP bind to %s:%s as %s refused: %s", self.host, self.port, self.system_id, exc)
        else:
            log.warning("SMPP connect/bind to %s:%s failed: %s", self.host, self.port, exc)

    def _wait_backoff(self, attempt: int) -> None:
        delay = min(self.reconnect_backoff_max, self.reconnect_backoff * 2 ** (attempt - 1))
        with self._cv:
            self._backoff = delay
        self._stop.wait(delay)

    def _drop(self, conn: _Connection, reason: str) -> None:
        conn.kill(reason)
        conn.unbind_done.set()  # nobody waits for an unbind_resp on a dead connection
        with self._send_lock:
            with self._cv:
                if self._conn is conn:
                    self._conn = None
                lost = [p for p in conn.pending.values() if p.written]
                for part in lost:
                    self._finish(part, Outcome.UNKNOWN,
                                 error=f"connection lost before the carrier answered ({reason})")
                for part in conn.pending.values():
                    if not part.written and part.state == _INFLIGHT:  # cannot happen under the send lock
                        part.state = _QUEUED
                        part.batch.ready.appendleft(part)
                conn.pending.clear()
                self._counters["connections_lost"] += 1
                if not self._closing:
                    self._state = BindState.DISCONNECTED
                    self._last_error = ConnectionLost(reason)
                self._cv.notify_all()
            conn.client.close_socket()
        if lost:
            log.warning("SMPP: %d submit_sm without answer when the connection was lost: outcome unknown",
                        len(lost))

    # ----------------------------------------------------------- reader

    def _read_loop(self, conn: _Connection) -> None:
        sock = conn.sock
        buf = bytearray()
        while not self._stop.is_set():
            if conn.dead:
                raise ConnectionLost(conn.reason)
            now = time.monotonic()
            self._timers(conn, now)
            try:
                readable, _, _ = select.select([sock], [], [], self._next_timer(conn, now))
            except (OSError, ValueError) as exc:
                raise ConnectionLost(f"select failed: {exc!r}") from None
            if not readable:
                continue
            try:
                data = sock.recv(1 << 18)
            except socket.timeout:
                continue
            except OSError as exc:
                raise ConnectionLost(conn.reason or f"read failed: {exc!r}") from None
            if not data:
                raise ConnectionLost(conn.reason or "the SMSC closed the connection")
            conn.last_rx = time.monotonic()
            buf += data
            pdus: list[bytes] = []
            pos = 0
            end = len(buf)
            while end - pos >= 16:
                length = int.from_bytes(buf[pos:pos + 4], "big")
                if length < 16 or length > _MAX_PDU:
                    raise ConnectionLost(f"bad command_length {length}")
                if end - pos < length:
                    break
                pdus.append(bytes(buf[pos:pos + length]))
                pos += length
            del buf[:pos]
            if pdus:
                self._handle(conn, pdus)

    def _next_timer(self, conn: _Connection, now: float) -> float:
        """Seconds the reader may wait for data before `_timers` has something to do: the next
        enquire_link or an overdue enquire_link_resp; while submits are in flight, a quarter of a
        second (their answers wake it anyway). At most a second: a submit written while the reader
        waits is found overdue at most that late. Closing shuts the socket down, which wakes it."""
        due = conn.enquire_sent + self.response_timeout if conn.enquire_seq is not None \
            else conn.last_rx + self.enquire_link_interval
        if conn.pending:
            due = min(due, now + min(0.25, self.response_timeout / 2))
        return min(1.0, max(0.01, due - now))

    def _timers(self, conn: _Connection, now: float) -> None:
        if conn.enquire_seq is not None:
            if now - conn.enquire_sent > self.response_timeout:
                raise ConnectionLost(f"no enquire_link_resp within {self.response_timeout:g}s")
        probe = now - conn.last_rx >= self.enquire_link_interval
        if conn.pending:
            with self._cv:
                expired = []
                for part in conn.pending.values():
                    if not part.written or now - part.sent_at <= self.response_timeout:
                        break
                    expired.append(part)
                for part in expired:
                    del conn.pending[part.seq]
                    self._finish(part, Outcome.UNKNOWN,
                                 error=f"no submit_sm_resp within {self.response_timeout:g}s")
                if expired:
                    probe = True
                    self._cv.notify_all()
                    log.warning("SMPP: %d submit_sm unanswered for %gs: outcome unknown", len(expired),
                                self.response_timeout)
        if probe and conn.enquire_seq is None:
            pdu = smpp.make_pdu("enquire_link", client=conn.client)
            conn.enquire_seq = pdu.sequence
            conn.enquire_sent = now
            self._counters["enquire_links_sent"] += 1
            self._send_control(conn, pdu.generate())

    def _handle(self, conn: _Connection, pdus: list[bytes]) -> None:
        answers: list[tuple[int, int, str | None]] = []
        inbound: list = []
        out: list[bytes] = []
        unbound = False
        for raw in pdus:
            command_id, status, seq = struct.unpack_from(">LLL", raw, 4)
            if command_id == _SUBMIT_SM_RESP:
                message_id = None
                if status == consts.SMPP_ESME_ROK:  # the message_id C-string (TLVs may follow it)
                    message_id = raw[16:].split(b"\x00", 1)[0].decode("latin-1")
                answers.append((seq, status, message_id))
            elif command_id in (_DELIVER_SM, _DATA_SM):
                item, resp_status = self._inbound(raw)
                # deliver_sm_resp / data_sm_resp: an empty message_id (what smpplib makes of them)
                out.append(_HEADER.pack(17, command_id | 0x80000000, resp_status, seq) + b"\x00")
                if item is not None:
                    inbound.append(item)
            elif command_id == _ENQUIRE_LINK:
                resp = smpp.make_pdu("enquire_link_resp", client=_PARSER)
                resp.sequence = seq
                out.append(resp.generate())
            elif command_id == _ENQUIRE_LINK_RESP or (command_id == _GENERIC_NACK and seq == conn.enquire_seq):
                if seq == conn.enquire_seq:
                    conn.enquire_seq = None
            elif command_id == _GENERIC_NACK:
                answers.append((seq, status or consts.SMPP_ESME_RUNKNOWNERR, None))
                log.warning("SMPP generic_nack %s for sequence %d", status_name(status), seq)
            elif command_id == _UNBIND:
                resp = smpp.make_pdu("unbind_resp", client=_PARSER)
                resp.sequence = seq
                out.append(resp.generate())
                unbound = True
            elif command_id == _UNBIND_RESP:
                conn.unbind_done.set()
                unbound = True
            elif command_id == _ALERT_NOTIFICATION:
                log.info("SMPP alert_notification ignored")
            elif command_id & 0x80000000:
                log.warning("SMPP: unexpected response 0x%08X (sequence %d) ignored", command_id, seq)
            else:
                nack = smpp.make_pdu("generic_nack", client=_PARSER, status=consts.SMPP_ESME_RINVCMDID)
                nack.sequence = seq
                out.append(nack.generate())
                log.warning("SMPP: unsupported command 0x%08X answered with generic_nack", command_id)
        if out:
            self._control.extend((conn, data) for data in out)
            if unbound:  # the unbind_resp must go before the connection is closed
                with self._send_lock:
                    self._flush_control_locked()
            else:
                self._flush_control()
        if answers:
            now = time.monotonic()
            with self._cv:
                for seq, status, message_id in answers:
                    if not self._answered(conn, seq, status, message_id, now):
                        log.warning("SMPP: answer for sequence %d that is not in flight (late?) ignored", seq)
                self._cv.notify_all()
        if inbound and self.receipts_inline and self._on_receipts is not None:
            receipts = [i for i in inbound if isinstance(i, Receipt)]
            inbound = [i for i in inbound if not isinstance(i, Receipt)]
            if receipts:
                try:
                    self._on_receipts(receipts)
                except Exception:  # noqa: BLE001
                    log.exception("SMPP receipt callback failed; %d receipts lost", len(receipts))
        for item in inbound:
            self._inbox.put(item)
        if conn.dead:
            raise ConnectionLost(conn.reason)
        if unbound:
            raise ConnectionLost("unbound")

    def _inbound(self, raw: bytes):
        """(Receipt | InboundMessage | None, deliver_sm_resp status) for a deliver_sm / data_sm."""
        try:
            pdu = _parse_deliver(raw)  # the fields we use, without smpplib's per-field machinery
        except Exception as exc:  # noqa: BLE001 - a malformed PDU: let smpplib try
            try:
                pdu = smpp.parse_pdu(raw, client=_PARSER, allow_unknown_opt_params=True)
            except Exception:  # noqa: BLE001
                log.exception("SMPP: cannot parse deliver_sm %s", raw.hex())
                return None, consts.SMPP_ESME_RSYSERR
            log.debug("SMPP: could not parse a deliver_sm here (%r); smpplib did", exc)
        short_message = getattr(pdu, "short_message", None) or getattr(pdu, "message_payload", None) or b""
        esm_class = pdu.esm_class or 0
        receipt = make_receipt(
            esm_class=esm_class,
            short_message=short_message,
            receipted_message_id=getattr(pdu, "receipted_message_id", None),
            message_state=getattr(pdu, "message_state", None),
            network_error_code=getattr(pdu, "network_error_code", None),
            source_addr=pdu.source_addr,
            destination_addr=pdu.destination_addr,
        )
        with self._cv:
            self._counters["receipts" if receipt is not None else "inbound"] += 1
        if receipt is not None:
            return receipt, consts.SMPP_ESME_ROK
        message = InboundMessage(_text(pdu.source_addr), _text(pdu.destination_addr), esm_class,
                                 pdu.data_coding or 0, bytes(short_message))
        if self._on_message is None:
            log.info("SMPP MO message from %s ignored (no on_message callback)", message.source_addr)
            return None, consts.SMPP_ESME_ROK
        return message, consts.SMPP_ESME_ROK

    # --------------------------------------------------------- callbacks

    def _dispatch(self) -> None:
        while True:
            item = self._inbox.get()
            stop = item is None
            items = [] if stop else [item]
            while not stop and len(items) < self.receipt_batch:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
            receipts = [i for i in items if isinstance(i, Receipt)]
            if receipts and self._on_receipts is not None:
                try:
                    self._on_receipts(receipts)
                except Exception:  # noqa: BLE001
                    log.exception("SMPP receipt callback failed; %d receipts lost", len(receipts))
            for message in items:
                if isinstance(message, InboundMessage) and self._on_message is not None:
                    try:
                        self._on_message(message)
                    except Exception:  # noqa: BLE001
                        log.exception("SMPP inbound message callback failed")
            if stop:
                return


class _Fields:
    pass


def _parse_deliver(raw: bytes) -> _Fields:
    """The fields of a deliver_sm / data_sm that a receipt needs, for what smpplib cannot parse.

    smpplib 2.2.4 raises KeyError on a TLV it knows in general but not for this PDU (for example
    delivery_failure_reason 0x0425 or dest_addr_subunit 0x0005 in a deliver_sm)."""
    command_id = struct.unpack_from(">L", raw, 4)[0]
    body = raw[16:]
    pdu = _Fields()

    def cstr(pos: int) -> tuple[bytes, int]:
        end = body.index(0, pos)
        return body[pos:end], end + 1

    _, pos = cstr(0)  # service_type
    pos += 2  # source TON, NPI
    pdu.source_addr, pos = cstr(pos)
    pos += 2
    pdu.destination_addr, pos = cstr(pos)
    pdu.esm_class = body[pos]
    if command_id == _DATA_SM:
        pdu.data_coding = body[pos + 2]
        pos += 3
        pdu.short_message = b""
    else:
        pos += 3  # esm_class, protocol_id, priority_flag
        _, pos = cstr(pos)  # schedule_delivery_time
        _, pos = cstr(pos)  # validity_period
        pdu.data_coding = body[pos + 2]
        length = body[pos + 4]
        pos += 5
        pdu.short_message = body[pos:pos + length]
        pos += length
    pdu.receipted_message_id = pdu.message_state = pdu.network_error_code = pdu.message_payload = None
    while pos + 4 <= len(body):
        tag, length = struct.unpack_from(">HH", body, pos)
        value = body[pos + 4:pos + 4 + length]
        pos += 4 + length
        if tag == 0x001E:
            pdu.receipted_message_id = value.rstrip(b"\x00")
        elif tag == 0x0427 and value:
            pdu.message_state = value[0]
        elif tag == 0x0423:
            pdu.network_error_code = value
        elif tag == 0x0424:
            pdu.message_payload = value
    return pdu


def _cstr(value: str | None, size: int) -> bytes:
    """A C-Octet String field as smpplib writes it: Latin-1, cut to size - 1 octets, NUL-terminated."""
    return (value or "")[:size - 1].encode("latin-1") + b"\x00"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


__all__ = [
    "BindRefused", "BindState", "InboundMessage", "Outcome", "SmppBind", "SmppBindError", "SmppMessage",
    "SmppResult", "STATUS_NAMES", "THROTTLING_STATUSES", "status_name",
]
