"""A stand-in SMSC: a real SMPP 3.4 server on loopback (asyncio, its own PDU codec, no smpplib), for the
SMPP bind's tests and benchmarks.

In-process (tests): the server runs on an event loop in a background thread.

    with running_smsc(credentials={"smsp": "secret"}, receipt_delay=0.05) as smsc:
        bind = SmppBind("127.0.0.1", smsc.port, "smsp", "secret", ...)
        ...
        smsc.wait_for(lambda s: len(s.messages()) == 3)
        smsc.stop(); smsc.start()          # goes away and comes back on the same port
        smsc.drop_connections()            # abrupt close (RST) of every connection
        smsc.configure(answer_submits=False)

Out of process (benchmarks, integration tests):

    python -m tests.smsc --port 0 --record /tmp/messages.jsonl --credentials smsp:secret

prints one JSON line ``{"event": "listening", "host": ..., "port": N}`` on stdout, serves until SIGTERM
or SIGINT, then prints ``{"event": "stopped", "stats": {...}, "cpu_seconds": ...}``. ``--help`` lists
the options; they are the keyword arguments of `Smsc` below.

What it does:

* binds: bind_transceiver / bind_transmitter / bind_receiver against `credentials`
  ({system_id: password}; None accepts anything). Unknown system_id -> ESME_RINVSYSID (0x0F), wrong
  password -> ESME_RINVPASWD (0x0E), a second bind on the same connection -> ESME_RALYBND, more than
  `max_binds` binds of one system_id -> ESME_RBINDFAIL. Any number of concurrent connections.
* enquire_link, unbind (unbind_resp, then it closes), generic_nack for commands it does not know.
* submit_sm -> submit_sm_resp with a unique message id (hex). Concatenated parts (UDH IEI 0x00 and 0x08,
  or the sar_* TLVs) are reassembled; each whole message is recorded once all its parts arrived:
  `messages()` (and one JSON line per message in `record`), with destination, decoded text,
  data_coding, parts, the part message ids in part order. Every submit_sm, answered or not, is in
  `received()`. Each part is decoded on its own, as a handset would: a GSM escape or a surrogate
  pair cut between parts shows in the text.
* delivery receipts per part (when registered_delivery asks): deliver_sm with esm_class 0x04, the
  receipted_message_id and message_state TLVs and the ``id:... stat:... err:...`` text, after
  `receipt_delay` seconds, on the bind that submitted (or another receiver bind of that system_id,
  or the next one to bind: receipts not acknowledged by deliver_sm_resp are kept and sent again).
  `outcomes` maps destination prefixes to a final stat (``{"86139": "UNDELIV"}``); others DELIVRD.
  `receipt_before_resp` sends the receipt before the submit_sm_resp. `receipt_tlvs=False`,
  `receipt_text=False`, `receipt_esm_class` and `receipt_extra_tlvs` ({tag: value}) vary its form.
* faults: `reject` ({prefix: status}) answers those submits with that status; `throttle_first`
  answers the first K submits with `throttle_status` (ESME_RTHROTTLED); `throttle_per_second`
  answers it beyond N submits in a wall-clock second; `answer_submits=False` reads and records submits
  but holds their answers (set it back to True to release them); `resp_delay` delays answers;
  `drop_after` closes a connection abruptly when it brings its Nth submit; `answer_enquire_link=False`;
  `stop()`/`start()`; `drop_connections()`; `send_unbind()`; `send_enquire_link()`; `send_mo()`.
* `binds()` has per-connection figures, among them `max_outstanding`: the most submit_sm that
  connection had waiting for their answer at one time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
RESP = 0x80000000

ESME_ROK = 0x00
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58

MESSAGE_STATES = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6,
                  "UNKNOWN": 7, "REJECTD": 8}
DEFAULT_ERR = {"DELIVRD": "000", "ACCEPTD": "000", "ENROUTE": "000", "UNDELIV": "001", "EXPIRED": "002",
               "REJECTD": "003", "DELETED": "004", "UNKNOWN": "005"}

# 3GPP TS 23.038 default alphabet and extension table (an independent copy: the stand-in must not share
# the bind's tables, or a wrong table would go unnoticed).
_GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
            0x40: "|", 0x65: "€"}
_HEADER = struct.Struct(">LLLL")
_BIND_COMMANDS = {BIND_TRANSCEIVER: "trx", BIND_TRANSMITTER: "tx", BIND_RECEIVER: "rx"}


def decode_payload(data_coding: int, payload: bytes) -> str:
    if data_coding == 0x08:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == 0x00:
        out = []
        escape = False
        for octet in payload:
            if escape:
                out.append(_GSM_EXT.get(octet, "\ufffd"))
                escape = False
            elif octet == 0x1B:
                escape = True
            else:
                out.append(_GSM[octet] if octet < 0x80 else "\ufffd")
        if escape:
            out.append("\ufffd")  # an escape cut off at the end of a part
        return "".join(out)
    if data_coding == 0x01:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")


def _cstr(body: bytes, pos: int) -> tuple[str, int]:
    end = body.index(0, pos)
    return body[pos:end].decode("latin-1"), end + 1


def _pdu(command_id: int, status: int, seq: int, body: bytes = b"") -> bytes:
    return _HEADER.pack(16 + len(body), command_id, status, seq) + body


class _Receipt:
    __slots__ = ("system_id", "message_id", "submitter", "handset", "handset_ton", "handset_npi",
                 "source_ton", "source_npi", "stat", "err", "submitted", "text")

    def __init__(self, system_id, message_id, submitter, handset, handset_ton, handset_npi, source_ton,
                 source_npi, stat, err, text):
        self.system_id = system_id
        self.message_id = message_id
        self.submitter = submitter  # the bind's source address: the receipt's destination
        self.handset = handset
        self.handset_ton = handset_ton
        self.handset_npi = handset_npi
        self.source_ton = source_ton
        self.source_npi = source_npi
        self.stat = stat
        self.err = err
        self.submitted = time.strftime("%y%m%d%H%M")
        self.text = text


class _Connection(asyncio.Protocol):
    def __init__(self, smsc: "Smsc"):
        self.smsc = smsc
        self.buf = bytearray()
        self.transport = None
        self.mode: str | None = None
        self.system_id: str | None = None
        self.seq = 0
        self.outstanding = 0
        self.held: list[tuple[bytes, _Receipt | None]] = []
        self.unacked: dict[int, _Receipt] = {}
        self.enquire_unanswered = 0
        self.closed = False
        smsc._connection_count += 1
        self.info = {"connection": smsc._connection_count, "system_id": None, "mode": None, "open": True,
                     "submits": 0, "max_outstanding": 0, "receipts_sent": 0, "receipts_acked": 0,
                     "enquire_links": 0}

    # asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.smsc._connections.add(self)
        with self.smsc._cond:
            self.smsc._binds.append(self.info)

    def connection_lost(self, exc):
        self.closed = True
        self.info["open"] = False
        self.smsc._connections.discard(self)
        if self.unacked and self.system_id:
            self.smsc._undelivered[self.system_id].extend(self.unacked.values())
            self.unacked.clear()
        self.smsc._changed()

    def data_received(self, data):
        buf = self.buf
        buf += data
        pos = 0
        end = len(buf)
        out: list[bytes] = []
        answered = 0
        while end - pos >= 16:
            length = int.from_bytes(buf[pos:pos + 4], "big")
            if length < 16 or length > 65536:
                self.abort()
                return
            if end - pos < length:
                break
            command_id, status, seq = struct.unpack_from(">LLL", buf, pos + 4)
            body = bytes(buf[pos + 16:pos + length])
            pos += length
            if command_id == SUBMIT_SM:
                answered += self.on_submit(seq, body, out)
            elif command_id == DELIVER_SM | RESP:
                receipt = self.unacked.pop(seq, None)
                if receipt is not None:
                    self.info["receipts_acked"] += 1
                    self.smsc.stats["receipts_acked"] += 1
                    if status != ESME_ROK:
                        self.smsc.stats["receipt_errors"] += 1
            elif command_id == ENQUIRE_LINK:
                self.info["enquire_links"] += 1
                self.smsc.stats["enquire_links"] += 1
                if self.smsc.answer_enquire_link:
                    out.append(_pdu(ENQUIRE_LINK | RESP, ESME_ROK, seq))
            elif command_id == ENQUIRE_LINK | RESP:
                self.enquire_unanswered = max(0, self.enquire_unanswered - 1)
                self.smsc.stats["enquire_link_resps"] += 1
            elif command_id in _BIND_COMMANDS:
                out.append(self.on_bind(command_id, seq, body))
            elif command_id == UNBIND:
                out.append(_pdu(UNBIND | RESP, ESME_ROK, seq))
                self.smsc.stats["unbinds"] += 1
                self.transport.write(b"".join(out))
                self.transport.close()
                self.closed = True
                return
            elif command_id == GENERIC_NACK:
                self.smsc.stats["generic_nacks_received"] += 1
            elif command_id == UNBIND | RESP:
                self.smsc.stats["unbind_resps"] += 1
                if out:
                    self.transport.write(b"".join(out))
                self.transport.close()
                self.closed = True
                return
            elif command_id & RESP:
                pass
            else:
                out.append(_pdu(GENERIC_NACK, ESME_RINVCMDID, seq))
            if self.closed:
                return
        del buf[:pos]
        if out:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])
        self.outstanding -= answered
        self.smsc._changed()

    def abort(self):
        if self.transport is not None and not self.closed:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.closed = True
            self.transport.abort()

    def next_seq(self) -> int:
        self.seq = self.seq % 0x7FFFFFFF + 1
        return self.seq

    # PDUs
    def on_bind(self, command_id: int, seq: int, body: bytes) -> bytes:
        smsc = self.smsc
        try:
            system_id, pos = _cstr(body, 0)
            password, pos = _cstr(body, pos)
        except ValueError:
            return _pdu(command_id | RESP, ESME_RSYSERR, seq)
        mode = _BIND_COMMANDS[command_id]
        creds = smsc.credentials
        if self.mode is not None:
            status = ESME_RALYBND
        elif creds is not None and system_id not in creds:
            status = ESME_RINVSYSID
        elif creds is not None and creds[system_id] != password:
            status = ESME_RINVPASWD
        elif smsc.max_binds is not None and sum(
                1 for c in smsc._connections if c.system_id == system_id and c.mode) >= smsc.max_binds:
            status = ESME_RBINDFAIL
        else:
            status = ESME_ROK
        with smsc._cond:
            smsc._bind_attempts.append({"system_id": system_id, "mode": mode, "status": status,
                                        "at": time.time()})
        if status != ESME_ROK:
            smsc.stats["binds_refused"] += 1
            return _pdu(command_id | RESP, status, seq)
        smsc.stats["binds"] += 1
        self.mode = mode
        self.system_id = system_id
        self.info["system_id"] = system_id
        self.info["mode"] = mode
        if mode != "tx" and smsc._undelivered.get(system_id):
            asyncio.get_running_loop().call_soon(smsc._flush_undelivered, system_id)
        # system_id, then the sc_interface_version TLV (SMPP 3.4)
        return _pdu(command_id | RESP, ESME_ROK, seq, b"STANDIN\x00" + struct.pack(">HHB", 0x0210, 1, 0x34))

    def on_submit(self, seq: int, body: bytes, out: list[bytes]) -> int:
        """Handle one submit_sm; return how many answers went into `out` now."""
        smsc = self.smsc
        if self.mode not in ("trx", "tx"):
            out.append(_pdu(SUBMIT_SM | RESP, ESME_RINVBNDSTS, seq))
            return 0
        self.outstanding += 1
        self.info["submits"] += 1
        if self.outstanding > self.info["max_outstanding"]:
            self.info["max_outstanding"] = self.outstanding
        smsc.stats["submits"] += 1
        try:
            fields = _parse_submit(body)
        except (ValueError, IndexError):
            out.append(_pdu(SUBMIT_SM | RESP, ESME_RSYSERR, seq))
            return 1
        entry = {"connection": self.info["connection"], "system_id": self.system_id,
                 "destination": fields["destination"], "source": fields["source"],
                 "data_coding": fields["data_coding"], "concat": fields["concat"],
                 "text": decode_payload(fields["data_coding"], fields["payload"]),
                 "status": None, "message_id": None}
        if smsc.drop_after is not None and self.info["submits"] >= smsc.drop_after:
            entry["status"] = "dropped"
            smsc._record_received(entry)
            if out:
                self.transport.write(b"".join(out))
                out.clear()
            self.abort()
            return 0
        status = smsc._verdict(fields["destination"])
        if status != ESME_ROK:
            entry["status"] = status
            smsc._record_received(entry)
            resp, receipt = _pdu(SUBMIT_SM | RESP, status, seq), None
        else:
            message_id = smsc._new_id()
            entry["status"] = ESME_ROK
            entry["message_id"] = message_id
            smsc._record_received(entry)
            smsc._assemble(self.system_id, fields, message_id, entry["text"])
            receipt = smsc._receipt_for(self.system_id, fields, message_id, entry["text"])
            resp = _pdu(SUBMIT_SM | RESP, ESME_ROK, seq, message_id.encode() + b"\x00")
        if not smsc.answer_submits:
            self.held.append((resp, receipt))
            return 0
        if smsc.resp_delay > 0:
            asyncio.get_running_loop().call_later(smsc.resp_delay, self.answer_later, [(resp, receipt)])
            return 0
        self.answer(resp, receipt, out)
        return 1

    def answer(self, resp: bytes, receipt: _Receipt | None, out: list[bytes]):
        smsc = self.smsc
        if receipt is None:
            out.append(resp)
        elif smsc.receipt_before_resp:
            smsc._deliver(receipt, self, out)
            out.append(resp)
        elif smsc.receipt_delay > 0:
            out.append(resp)
            asyncio.get_running_loop().call_later(smsc.receipt_delay, smsc._deliver, receipt, self, None)
        else:
            out.append(resp)
            smsc._deliver(receipt, self, out)

    def answer_later(self, items):
        if self.closed:
            return
        out: list[bytes] = []
        for resp, receipt in items:
            self.answer(resp, receipt, out)
        if out:
            self.transport.write(b"".join(out))
        self.outstanding -= len(items)
        self.smsc._changed()

    def send_receipt(self, receipt: _Receipt, out: list[bytes] | None):
        smsc = self.smsc
        seq = self.next_seq()
        text = b""
        if smsc.receipt_text:
            dlvrd = "001" if receipt.stat == "DELIVRD" else "000"
            text = (f"id:{receipt.message_id} sub:001 dlvrd:{dlvrd} submit date:{receipt.submitted} "
                    f"done date:{time.strftime('%y%m%d%H%M')} stat:{receipt.stat} err:{receipt.err} "
                    f"text:{receipt.text}").encode("latin-1", errors="replace")
        body = b"".join((
            b"\x00",  # service_type
            bytes((receipt.handset_ton, receipt.handset_npi)), receipt.handset.encode("latin-1"), b"\x00",
            bytes((receipt.source_ton, receipt.source_npi)), receipt.submitter.encode("latin-1"), b"\x00",
            bytes((smsc.receipt_esm_class, 0, 0)),  # esm_class, protocol_id, priority_flag
            b"\x00\x00",  # schedule_delivery_time, validity_period
            bytes((0, 0, 0, 0, len(text))), text,  # registered_delivery .. sm_length, short_message
        ))
        if smsc.receipt_tlvs:
            mid = receipt.message_id.encode("latin-1") + b"\x00"
            body += struct.pack(">HH", 0x001E, len(mid)) + mid
            body += struct.pack(">HHB", 0x0427, 1, MESSAGE_STATES.get(receipt.stat, 7))
        for tag, value in smsc.receipt_extra_tlvs.items():
            body += struct.pack(">HH", tag, len(value)) + value
        data = _pdu(DELIVER_SM, ESME_ROK, seq, body)
        self.unacked[seq] = receipt
        self.info["receipts_sent"] += 1
        smsc.stats["receipts_sent"] += 1
        if out is not None:
            out.append(data)
        else:
            self.transport.write(data)

    def release_held(self):
        if self.held and not self.closed:
            items, self.held = self.held, []
            self.answer_later(items)


def _parse_submit(body: bytes) -> dict:
    pos = 0
    _service_type, pos = _cstr(body, pos)
    source_ton, source_npi = body[pos], body[pos + 1]
    source, pos = _cstr(body, pos + 2)
    dest_ton, dest_npi = body[pos], body[pos + 1]
    destination, pos = _cstr(body, pos + 2)
    esm_class = body[pos]
    pos += 3
    _schedule, pos = _cstr(body, pos)
    _validity, pos = _cstr(body, pos)
    registered_delivery, _replace, data_coding, _default_id, sm_length = body[pos:pos + 5]
    pos += 5
    short_message = body[pos:pos + sm_length]
    if len(short_message) != sm_length:
        raise ValueError("short_message shorter than sm_length")
    pos += sm_length
    tlvs = {}
    while pos + 4 <= len(body):
        tag, length = struct.unpack_from(">HH", body, pos)
        tlvs[tag] = body[pos + 4:pos + 4 + length]
        pos += 4 + length
    payload = short_message
    if not payload and 0x0424 in tlvs:  # message_payload
        payload = tlvs[0x0424]
    concat = None  # (reference key, total, index)
    if esm_class & 0x40 and payload:
        udhl = payload[0]
        udh = payload[1:1 + udhl]
        payload = payload[1 + udhl:]
        i = 0
        while i + 2 <= len(udh):
            iei, length = udh[i], udh[i + 1]
            data = udh[i + 2:i + 2 + length]
            if iei == 0x00 and length == 3:
                concat = (("8", data[0]), data[1], data[2])
            elif iei == 0x08 and length == 4:
                concat = (("16", data[0] << 8 | data[1]), data[2], data[3])
            i += 2 + length
    elif 0x020C in tlvs and 0x020E in tlvs and 0x020F in tlvs:
        concat = (("sar", int.from_bytes(tlvs[0x020C], "big")), tlvs[0x020E][0], tlvs[0x020F][0])
    return {"source": source, "source_ton": source_ton, "source_npi": source_npi,
            "destination": destination, "dest_ton": dest_ton, "dest_npi": dest_npi,
            "esm_class": esm_class, "registered_delivery": registered_delivery,
            "data_coding": data_coding, "payload": payload, "concat": concat}


class Smsc:
    """The stand-in SMSC. Every keyword is an option (see the module docstring); `configure()` changes
    the fault options while it runs."""

    FAULT_OPTIONS = ("receipts", "receipt_delay", "receipt_before_resp", "receipt_tlvs", "receipt_text",
                     "receipt_esm_class", "receipt_extra_tlvs", "outcomes", "reject", "throttle_first", "throttle_per_second",
                     "throttle_status", "resp_delay", "answer_submits", "answer_enquire_link", "drop_after",
                     "credentials", "max_binds")

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 credentials: dict[str, str] | None | str = "default", max_binds: int | None = None,
                 receipts: bool = True, receipt_delay: float = 0.0, receipt_before_resp: bool = False,
                 receipt_tlvs: bool = True, receipt_text: bool = True, receipt_esm_class: int = 0x04,
                 receipt_extra_tlvs: dict[int, bytes] | None = None,
                 outcomes: dict[str, str | tuple[str, str]] | None = None,
                 reject: dict[str, int] | None = None,
                 throttle_first: int = 0, throttle_per_second: int | None = None,
                 throttle_status: int = ESME_RTHROTTLED,
                 resp_delay: float = 0.0, answer_submits: bool = True, answer_enquire_link: bool = True,
                 drop_after: int | None = None, record: str | os.PathLike | None = None,
                 keep_received: bool = True):
        self.host = host
        self.port = port
        # {system_id: password}; None accepts every bind
        self.credentials = {"smsp": "secret"} if credentials == "default" else credentials
        self.max_binds = max_binds
        self.receipts = receipts
        self.receipt_delay = receipt_delay
        self.receipt_before_resp = receipt_before_resp
        self.receipt_tlvs = receipt_tlvs
        self.receipt_text = receipt_text
        self.receipt_esm_class = receipt_esm_class
        self.receipt_extra_tlvs = receipt_extra_tlvs or {}
        self.outcomes = outcomes or {}
        self.reject = reject or {}
        self.throttle_first = throttle_first
        self.throttle_per_second = throttle_per_second
        self.throttle_status = throttle_status
        self.resp_delay = resp_delay
        self.answer_submits = answer_submits
        self.answer_enquire_link = answer_enquire_link
        self.drop_after = drop_after
        self.record = str(record) if record else None
        self.keep_received = keep_received

        self.stats: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()
        self._messages: list[dict] = []
        self._received: list[dict] = []
        self._binds: list[dict] = []
        self._bind_attempts: list[dict] = []
        self._partial: dict[tuple, dict[int, tuple]] = {}
        self._undelivered: dict[str, deque[_Receipt]] = defaultdict(deque)
        self._connections: set[_Connection] = set()
        self._connection_count = 0
        self._next_id = 0
        self._id_prefix = f"{random.randrange(0x10000):04X}"
        self._throttled_first = 0
        self._second = 0
        self._second_count = 0
        self._record_file = None
        self._flush_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None

    # ------------------------------------------------------------ life cycle (any thread)

    def start(self) -> "Smsc":
        """Listen (again) on `port` (a free one the first time if 0). Starts the loop thread if needed."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run_loop, args=(ready,), name="standin-smsc",
                                            daemon=True)
            self._thread.start()
            ready.wait()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        """Stop listening and close every connection abruptly; keeps messages and pending receipts."""
        if self._loop is not None:
            self._call(self._shutdown())

    def close(self) -> None:
        """stop() and end the loop thread."""
        if self._loop is None:
            return
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> "Smsc":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def listening(self) -> bool:
        return self._server is not None

    def configure(self, **options) -> None:
        """Change options while running, e.g. configure(answer_submits=True, throttle_first=0)."""
        unknown = set(options) - set(self.FAULT_OPTIONS)
        if unknown:
            raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")

        def apply():
            for name, value in options.items():
                setattr(self, name, value)
            if self.answer_submits:
                for conn in list(self._connections):
                    conn.release_held()
        self._call_soon(apply)

    def drop_connections(self) -> int:
        """Close every open connection abruptly (RST), without answering what is held; returns how many."""
        def drop():
            conns = list(self._connections)
            for conn in conns:
                conn.held.clear()
                conn.abort()
            return len(conns)
        return self._call_soon(drop)

    def send_enquire_link(self) -> int:
        """Send enquire_link on every bound connection; answers are counted in stats['enquire_link_resps']."""
        def send():
            n = 0
            for conn in list(self._connections):
                if conn.mode and not conn.closed:
                    conn.transport.write(_pdu(ENQUIRE_LINK, ESME_ROK, conn.next_seq()))
                    conn.enquire_unanswered += 1
                    n += 1
            return n
        return self._call_soon(send)

    def send_unbind(self) -> int:
        """Send unbind on every bound connection (maintenance); each closes on its unbind_resp."""
        def send():
            n = 0
            for conn in list(self._connections):
                if conn.mode and not conn.closed:
                    conn.transport.write(_pdu(UNBIND, ESME_ROK, conn.next_seq()))
                    n += 1
            return n
        return self._call_soon(send)

    def send_mo(self, system_id: str, source: str, destination: str, text: str) -> bool:
        """Send an MO deliver_sm (esm_class 0) to a receiver bind of `system_id`."""
        def send():
            for conn in list(self._connections):
                if conn.system_id == system_id and conn.mode in ("trx", "rx") and not conn.closed:
                    try:
                        payload, dc = text.encode("ascii"), 0x01
                    except UnicodeEncodeError:
                        payload, dc = text.encode("utf-16-be"), 0x08
                    body = (b"\x00" + b"\x01\x01" + source.encode() + b"\x00" + b"\x00\x01"
                            + destination.encode() + b"\x00" + b"\x00\x00\x00" + b"\x00\x00"
                            + bytes((0, 0, dc, 0, len(payload))) + payload)
                    conn.transport.write(_pdu(DELIVER_SM, ESME_ROK, conn.next_seq(), body))
                    return True
            return False
        return self._call_soon(send)

    # ------------------------------------------------------------------- observations

    def messages(self) -> list[dict]:
        """Whole messages, in the order their last part arrived."""
        with self._cond:
            return list(self._messages)

    def received(self) -> list[dict]:
        """Every submit_sm, in arrival order, with its status (an int, or "dropped")."""
        with self._cond:
            return list(self._received)

    def binds(self) -> list[dict]:
        """Per connection: system_id, mode, open, submits, max_outstanding, receipts_sent/acked, ..."""
        with self._cond:
            return [dict(b) for b in self._binds]

    def bind_attempts(self) -> list[dict]:
        with self._cond:
            return list(self._bind_attempts)

    def max_outstanding(self) -> int:
        with self._cond:
            return max((b["max_outstanding"] for b in self._binds), default=0)

    def open_binds(self) -> int:
        with self._cond:
            return sum(1 for b in self._binds if b["open"] and b["mode"])

    def wait_for(self, predicate, timeout: float = 10.0, message: str = "condition"):
        """Wait until predicate(self) is true (re-checked on every change); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"stand-in SMSC: timed out after {timeout}s waiting for {message}")
                self._cond.wait(min(remaining, 0.1))

    def wait_messages(self, count: int, timeout: float = 10.0) -> list[dict]:
        self.wait_for(lambda s: len(s._messages) >= count, timeout, f"{count} messages")
        return self.messages()

    # --------------------------------------------------------------------- loop side

    def _run_loop(self, ready: threading.Event):
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _call_soon(self, fn):
        async def run():
            return fn()
        return self._call(run())

    async def _listen(self):
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port,
                                                reuse_address=True, backlog=128)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.record and self._record_file is None:
            self._record_file = open(self.record, "a", encoding="utf-8")

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self._connections):
            conn.abort()
        await asyncio.sleep(0)
        self._flush_record()
        self._changed()

    def _changed(self):
        with self._cond:
            self._cond.notify_all()

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._id_prefix}{self._next_id:08X}"

    def _verdict(self, destination: str) -> int:
        if self._throttled_first < self.throttle_first:
            self._throttled_first += 1
            self.stats["throttled"] += 1
            return self.throttle_status
        if self.throttle_per_second is not None:
            second = int(time.time())
            if second != self._second:
                self._second, self._second_count = second, 0
            if self._second_count >= self.throttle_per_second:
                self.stats["throttled"] += 1
                return self.throttle_status
            self._second_count += 1
        for prefix, status in self.reject.items():
            if destination.startswith(prefix.lstrip("+")):
                self.stats["rejected"] += 1
                return status
        self.stats["accepted"] += 1
        return ESME_ROK

    def _record_received(self, entry: dict):
        if self.keep_received:
            with self._cond:
                self._received.append(entry)

    def _assemble(self, system_id: str, fields: dict, message_id: str, text: str):
        concat = fields["concat"]
        if concat is None or concat[1] <= 1:
            self._complete(system_id, fields, [(message_id, text, len(fields["payload"]))])
            return
        (ref, total, index) = concat
        key = (system_id, fields["source"], fields["destination"], ref, total)
        parts = self._partial.setdefault(key, {})
        if index in parts:  # a part sent twice: both are in received(); the message keeps the first
            self.stats["duplicate_parts"] += 1
            return
        parts[index] = (message_id, text, len(fields["payload"]))
        if len(parts) == total:
            del self._partial[key]
            self._complete(system_id, fields, [parts[i] for i in sorted(parts)])

    def _complete(self, system_id: str, fields: dict, parts: list[tuple]):
        message = {
            "system_id": system_id,
            "source": fields["source"],
            "destination": fields["destination"],
            "dest_addr_ton": fields["dest_ton"],
            "text": "".join(p[1] for p in parts),
            "data_coding": fields["data_coding"],
            "parts": len(parts),
            "message_ids": [p[0] for p in parts],
            "part_octets": [p[2] for p in parts],
            "at": time.time(),
        }
        with self._cond:
            self._messages.append(message)
        self.stats["messages"] += 1
        if self._record_file is not None:
            self._record_file.write(json.dumps(message, ensure_ascii=False) + "\n")
            if not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_later(0.05, self._flush_record)

    def _flush_record(self):
        self._flush_pending = False
        if self._record_file is not None:
            self._record_file.flush()

    def _receipt_for(self, system_id: str, fields: dict, message_id: str, text: str) -> _Receipt | None:
        wanted = fields["registered_delivery"] & 0x03
        if not self.receipts or wanted == 0:
            return None
        stat, err = "DELIVRD", None
        for prefix, outcome in self.outcomes.items():
            if fields["destination"].startswith(prefix.lstrip("+")):
                stat, err = (outcome, None) if isinstance(outcome, str) else outcome
                break
        if wanted == 2 and stat == "DELIVRD":  # failure receipts only
            return None
        return _Receipt(system_id, message_id, fields["source"], fields["destination"], fields["dest_ton"],
                        fields["dest_npi"], fields["source_ton"], fields["source_npi"], stat,
                        err or DEFAULT_ERR.get(stat, "000"), text[:20])

    def _deliver(self, receipt: _Receipt, preferred: _Connection | None, out: list[bytes] | None):
        conn = preferred
        if conn is None or conn.closed or conn.mode not in ("trx", "rx"):
            out = None
            conn = next((c for c in self._connections
                         if c.system_id == receipt.system_id and c.mode in ("trx", "rx") and not c.closed), None)
        if conn is None:
            self._undelivered[receipt.system_id].append(receipt)
            return
        conn.send_receipt(receipt, out)

    def _flush_undelivered(self, system_id: str):
        pending = self._undelivered.get(system_id)
        while pending:
            conn = next((c for c in self._connections
                         if c.system_id == system_id and c.mode in ("trx", "rx") and not c.closed), None)
            if conn is None:
                return
            out: list[bytes] = []
            while pending and len(out) < 1000:
                conn.send_receipt(pending.popleft(), out)
            conn.transport.write(b"".join(out))

    # ----------------------------------------------------------------------- out of process

    async def serve(self):
        """Listen and serve until SIGTERM/SIGINT (for `python -m tests.smsc`)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self._listen()
        print(json.dumps({"event": "listening", "host": self.host, "port": self.port}), flush=True)
        await stop.wait()
        await self._shutdown()
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None
        print(json.dumps({"event": "stopped", "stats": dict(self.stats), "binds": self.binds(),
                          "cpu_seconds": time.process_time()}), flush=True)


@contextmanager
def running_smsc(**options):
    """A started stand-in SMSC on a free loopback port; closed at the end."""
    smsc = Smsc(**options)
    smsc.start()
    try:
        yield smsc
    finally:
        smsc.close()


def _prefix_map(values: list[str], convert) -> dict:
    result = {}
    for value in values or []:
        prefix, _, rest = value.partition(":")
        result[prefix] = convert(rest)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.smsc",
                                     description="A stand-in SMSC speaking SMPP 3.4 on loopback (see the module docstring).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed on stdout)")
    parser.add_argument("--record", help="append each whole message as a JSON line to this file")
    parser.add_argument("--credentials", action="append", metavar="SYSTEM_ID:PASSWORD",
                        help="accepted binds (repeatable; default smsp:secret); 'any' accepts every bind")
    parser.add_argument("--max-binds", type=int)
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument("--receipt-delay", type=float, default=0.0, help="seconds after the submit_sm_resp")
    parser.add_argument("--receipt-before-resp", action="store_true")
    parser.add_argument("--no-receipt-tlvs", action="store_true")
    parser.add_argument("--no-receipt-text", action="store_true")
    parser.add_argument("--outcome", action="append", metavar="PREFIX:STAT",
                        help="receipts for destinations starting with PREFIX get STAT (e.g. 86139:UNDELIV)")
    parser.add_argument("--reject", action="append", metavar="PREFIX:STATUS",
                        help="answer submits to PREFIX with STATUS (e.g. 86100:0x45)")
    parser.add_argument("--throttle-first", type=int, default=0)
    parser.add_argument("--throttle-per-second", type=int)
    parser.add_argument("--throttle-status", type=lambda v: int(v, 0), default=ESME_RTHROTTLED)
    parser.add_argument("--resp-delay", type=float, default=0.0)
    parser.add_argument("--drop-after", type=int, help="abort a connection at its Nth submit_sm")
    parser.add_argument("--no-enquire-link-resp", action="store_true")
    parser.add_argument("--no-keep-received", action="store_true", help="do not keep every submit in memory")
    args = parser.parse_args(argv)
    if args.credentials == ["any"]:
        credentials = None
    elif args.credentials:
        credentials = dict(c.split(":", 1) for c in args.credentials)
    else:
        credentials = {"smsp": "secret"}
    smsc = Smsc(
        host=args.host, port=args.port, record=args.record, max_binds=args.max_binds,
        receipts=not args.no_receipts, receipt_delay=args.receipt_delay,
        receipt_before_resp=args.receipt_before_resp, receipt_tlvs=not args.no_receipt_tlvs,
        receipt_text=not args.no_receipt_text, outcomes=_prefix_map(args.outcome, str),
        reject=_prefix_map(args.reject, lambda v: int(v, 0)), throttle_first=args.throttle_first,
        throttle_per_second=args.throttle_per_second, throttle_status=args.throttle_status,
        resp_delay=args.resp_delay, drop_after=args.drop_after,
        answer_enquire_link=not args.no_enquire_link_resp, keep_received=not args.no_keep_received,
        credentials=credentials,
    )
    asyncio.run(smsc.serve())


if __name__ == "__main__":
    main(sys.argv[1:])
