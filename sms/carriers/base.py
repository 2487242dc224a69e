"""The carrier interface shared by every adapter (the team's brief, "The carrier interface").

All carrier detail stays inside its adapter module (`sms/carriers/<kind>.py` or a package
`sms/carriers/<kind>/`). The delivery layer knows only what is defined here.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import ClassVar

from django.http import HttpResponse, HttpResponseNotFound


class Outcome(str, Enum):
    ACCEPTED = "accepted"    # the carrier took it; a receipt will say what became of it (-> waiting_receipt)
    DELIVERED = "delivered"  # delivered at once (the console carrier)
    FAILED = "failed"        # refused or unreachable, certainly not sent: may be passed to the next carrier
    UNKNOWN = "unknown"      # sent but unanswered (connection lost / read timeout after the request was
                             # written): it may have gone out, so it is never sent again (-> call_failed, reason)


@dataclass(frozen=True)
class OutboundMessage:
    id: int                 # the send record's id
    to: str                 # E.164, e.g. "+8613800138000"
    text: str               # the clear, signed text ("【签名】..."); for voice, the digits to speak
    channel: str            # "sms" | "voice"
    app_id: str
    code: str = ""          # the verification code in clear ("" for notifications): for carriers that send
                            # a template with variables (Aliyun) or speak the code (voice)
    signature: str = ""     # the signature without 【】


@dataclass(frozen=True)
class SubmitResult:
    message_id: int
    outcome: Outcome
    carrier_message_ids: tuple[str, ...] = ()   # the carrier's id of each part, in order
    wire_parts: int = 1                          # parts on the wire (SMPP: concatenated parts)
    error_code: str = ""                         # the carrier's own code ("0x00000045", "21211", "isv.BUSINESS_LIMIT_CONTROL")
    error: str = ""                              # readable text


@dataclass(frozen=True)
class CarrierReceipt:
    carrier_message_id: str                      # as the carrier named the message (or part) in its submit answer
    delivered: bool                              # final state: delivered, or failed (undeliverable, expired, rejected...)
    error_code: str = ""
    raw: str = ""                                # the receipt as received (PDU short_message / JSON), for the record
    done_at: datetime | None = None


@dataclass(frozen=True)
class CarrierConfig:
    name: str                                    # unique, e.g. "smpp-main"; what routes and records refer to
    kind: str                                    # "console" | "smpp" | "twilio" | "aliyun"
    username: str = ""                           # SMPP system_id / Twilio account SID / Aliyun AccessKey id
    secret: str = field(default="", repr=False)  # password / auth token / AccessKey secret (never shown back)
    params: Mapping[str, str] = field(default_factory=dict)  # everything else, from the URL's query / the admin row


class CarrierConfigError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


ReceiptSink = Callable[[list[CarrierReceipt]], None]   # where an adapter hands receipts it reads itself


class Carrier(ABC):
    kind: ClassVar[str]
    supports_voice: ClassVar[bool] = False
    PARAMS: ClassVar[Mapping[str, str]] = {}     # the params it takes, with defaults; `check_config` validates them

    def __init__(self, config: CarrierConfig, receipts: ReceiptSink):
        self.config = config
        self.receipts = receipts

    @classmethod
    def check_config(cls, config: CarrierConfig) -> None:
        """Raise CarrierConfigError naming the field."""

    @abstractmethod
    def submit(self, messages: list[OutboundMessage], *, journal: Callable[[list[int]], None]) -> list[SubmitResult]:
        """One result per message, in any order. Call `journal(ids)` right before those messages may
        leave this process (before their PDUs or HTTP request are written): a crash after it leaves
        them ambiguous, a crash before it leaves them certainly unsent. May block (e.g. while an SMPP
        bind reconnects); gives up with FAILED after the adapter's own deadline."""

    def handle_callback(self, request) -> tuple[HttpResponse, list[CarrierReceipt]]:
        """HTTP carriers: a delivery-report callback. Verify it (forged: raise PermissionDenied -> 403,
        nothing changes), parse it, and return the answer the carrier expects and the receipts.
        Default: 404 (the carrier has no callbacks)."""
        return HttpResponseNotFound(), []

    def live_state(self) -> dict:
        """E.g. {"bound": True, "in_flight": 3, ...} for the admin."""
        return {}

    def close(self) -> None:
        """Release binds, threads, sessions."""


# --- Transitional: not part of the interface -------------------------------------------------------
# The names the delivery layer of this branch still uses (sms/delivery.py, sms/carriers/console.py and
# the registry import them under their old names). The core branch moves them to the interface above
# and its base.py replaces this file; no adapter uses anything below.

@dataclass(frozen=True)
class LegacyOutboundMessage:
    id: int
    app_id: str
    to: str
    text: str
    channel: str


@dataclass(frozen=True)
class LegacySubmitResult:
    """What the carrier said of one message: the status it moves to and the carrier's reference."""

    message_id: int
    status: str  # a MessageStatus: waiting_receipt, delivered or call_failed
    carrier_message_id: str = ""
    error: str = ""


class LegacyCarrier(ABC):
    name: str

    @abstractmethod
    def submit(self, messages: list[LegacyOutboundMessage]) -> list[LegacySubmitResult]:
        """Hand a batch to the carrier; one result per message, in any order."""
