"""Delivery receipts (SMPP 3.4 deliver_sm / data_sm with a receipt) into a `Receipt`.

A PDU is a receipt when its esm_class says so (message type bits 5..2 = 0001, i.e. 0x04, or 1000 =
0x20, an intermediate notification), or when it carries both the ``receipted_message_id`` (0x001E)
and ``message_state`` (0x0427) TLVs, or when its text is the de-facto standard of SMPP 3.4
appendix B: ``id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
err:EEE text:...``. The TLVs win over the text for the id and the state (the text's id is sometimes
reformatted by SMSCs, e.g. decimal where submit_sm_resp gave hex); the text fills in what the TLVs
lack (error code, dates, counts).

Standard library only.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

# message_state TLV values (SMPP 3.4, 5.2.28)
MESSAGE_STATES = {
    1: "enroute",
    2: "delivered",
    3: "expired",
    4: "deleted",
    5: "undeliverable",
    6: "accepted",
    7: "unknown",
    8: "rejected",
}
# the stat: word of the text; compared on its first five letters (DELIVRD / DELIVERED, UNDELIV / ...)
_STAT_WORDS = {
    "ENROU": "enroute",
    "DELIV": "delivered",
    "EXPIR": "expired",
    "DELET": "deleted",
    "UNDEL": "undeliverable",
    "ACCEP": "accepted",
    "UNKNO": "unknown",
    "REJEC": "rejected",
}
FINAL_STATES = frozenset(MESSAGE_STATES.values()) - {"enroute"}

ESM_RECEIPT = 0x04  # SMSC delivery receipt
ESM_INTERMEDIATE = 0x20  # intermediate delivery notification
_ESM_TYPE_MASK = 0x3C

_FIELDS = re.compile(
    r"(?<![A-Za-z_])(?P<key>id|sub|dlvrd|submit date|done date|stat|err|text):",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Receipt:
    """One delivery receipt. `message_id` is what submit_sm_resp returned for one part."""

    message_id: str
    state: str  # delivered, undeliverable, expired, rejected, deleted, unknown, accepted (final) or enroute
    error_code: str | None  # the text's err: field (e.g. "000"), else network_error_code TLV as "type:code"
    final: bool
    stat: str | None  # the text's stat: word as sent (DELIVRD, UNDELIV, ...), None if there was no text
    submit_date: str | None  # YYMMDDhhmm[ss] as sent
    done_date: str | None
    sub: str | None
    dlvrd: str | None
    text: str  # the receipt's short_message (or message_payload) as received, decoded as Latin-1
    source_addr: str  # the handset the message went to (receipts come "from" it)
    destination_addr: str  # our source address
    received_at: float = field(default_factory=time.time)


def parse_receipt_text(text: str) -> dict[str, str]:
    """The key:value fields of an appendix-B receipt text; keys lower case ('submit date', ...)."""
    matches = list(_FIELDS.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = match.group("key").lower()
        end = matches[i + 1].start() if i + 1 < len(matches) and key != "text" else len(text)
        if key == "text":
            fields[key] = text[match.end():]
            break
        fields.setdefault(key, text[match.end():end].strip())
    return fields


def state_from_stat(stat: str) -> str:
    return _STAT_WORDS.get(stat[:5].upper(), "unknown")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def make_receipt(
    *,
    esm_class: int | None,
    short_message: bytes | None,
    receipted_message_id=None,
    message_state: int | None = None,
    network_error_code: bytes | None = None,
    source_addr=None,
    destination_addr=None,
) -> Receipt | None:
    """A Receipt if these deliver_sm fields are a delivery receipt, else None (an MO message)."""
    esm_type = (esm_class or 0) & _ESM_TYPE_MASK
    body = _text(short_message)
    fields = parse_receipt_text(body) if ("id:" in body.lower() and "stat:" in body.lower()) else {}
    tlv_id = _text(receipted_message_id).strip("\x00").strip() or None
    has_tlvs = tlv_id is not None and message_state is not None
    if not (esm_type in (ESM_RECEIPT, ESM_INTERMEDIATE) or has_tlvs or ("id" in fields and "stat" in fields)):
        return None

    message_id = tlv_id or fields.get("id") or ""
    if message_state is not None and message_state in MESSAGE_STATES:
        state = MESSAGE_STATES[message_state]
    elif "stat" in fields:
        state = state_from_stat(fields["stat"])
    else:
        state = "unknown"
    error_code = fields.get("err")
    if error_code is None and network_error_code:
        if len(network_error_code) == 3:
            error_code = f"{network_error_code[0]}:{int.from_bytes(network_error_code[1:], 'big')}"
        else:
            error_code = network_error_code.hex()
    return Receipt(
        message_id=message_id,
        state=state,
        error_code=error_code,
        final=state in FINAL_STATES,
        stat=fields.get("stat"),
        submit_date=fields.get("submit date"),
        done_date=fields.get("done date"),
        sub=fields.get("sub"),
        dlvrd=fields.get("dlvrd"),
        text=body,
        source_addr=_text(source_addr),
        destination_addr=_text(destination_addr),
    )
