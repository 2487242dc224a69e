"""The small interface every carrier adapter implements (see /work/briefs/carrier-interface.md).

All carrier detail stays inside its adapter module (`sms/carriers/<kind>.py` or a package
`sms/carriers/<kind>/`). The delivery layer knows only this module. It imports nothing of the project
and no ORM, so that settings can validate `SMS_CARRIERS` through each adapter's `check_config`
before Django's apps are loaded.

Compatible extensions beyond the shared brief (an adapter written against the brief works unchanged):
- `Carrier.PARAMS` is a mapping {param name: default}; the default `check_config` refuses an unknown
  param (naming it) and leaves the rest to the adapter.
- `CarrierConfig.param(name, default)` reads a param with the adapter's default.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Callable, ClassVar, Mapping


class Outcome(str, Enum):
    ACCEPTED = "accepted"    # the carrier took it; a receipt will say what became of it (-> waiting_receipt)
    DELIVERED = "delivered"  # delivered at once (the console carrier)
    FAILED = "failed"        # refused or unreachable, certainly not sent: may be passed to the next carrier
    UNKNOWN = "unknown"      # sent but unanswered: it may have gone out, so it is never sent again


@dataclass(frozen=True)
class OutboundMessage:
    id: int                 # the send record's id
    to: str                 # E.164, e.g. "+8613800138000"
    text: str               # the clear, signed text ("【签名】..."); for voice, the digits to speak
    channel: str            # "sms" | "voice"
    app_id: str
    code: str = ""          # the verification code in clear ("" for notifications)
    signature: str = ""     # the signature without 【】

    def __repr__(self) -> str:  # never put a clear text or a code in a log line or a traceback
        return f"OutboundMessage(id={self.id}, to={self.to!r}, channel={self.channel!r})"


@dataclass(frozen=True)
class SubmitResult:
    message_id: int
    outcome: Outcome
    carrier_message_ids: tuple[str, ...] = ()   # the carrier's id of each part, in order
    wire_parts: int = 1                          # parts on the wire (SMPP: concatenated parts)
    error_code: str = ""                         # the carrier's own code ("0x00000045", "21211", ...)
    error: str = ""                              # readable text


@dataclass(frozen=True)
class CarrierReceipt:
    carrier_message_id: str                      # as the carrier named the message (or part) in its submit answer
    delivered: bool                              # final state: delivered, or failed (undeliverable, expired, ...)
    error_code: str = ""
    raw: str = ""                                # the receipt as received, for the record
    done_at: datetime | None = None


@dataclass(frozen=True)
class CarrierConfig:
    name: str                                    # unique, e.g. "smpp-main"; what routes and records refer to
    kind: str                                    # "console" | "smpp" | "twilio" | "aliyun"
    username: str = ""                           # SMPP system_id / Twilio account SID / Aliyun AccessKey id
    secret: str = field(default="", repr=False)  # password / auth token / AccessKey secret (never shown back)
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def param(self, name: str, default=None):
        return self.params.get(name, default)


class CarrierConfigError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


ReceiptSink = Callable[[list[CarrierReceipt]], None]   # where an adapter hands receipts it reads itself
Journal = Callable[[list[int]], None]


class Carrier(ABC):
    kind: ClassVar[str]
    supports_voice: ClassVar[bool] = False
    PARAMS: ClassVar[Mapping[str, object]] = {}  # the params it takes, with their defaults
    # Params that are secrets too (a callback token, a webhook key): the admin never shows them back.
    SECRET_PARAMS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: CarrierConfig, receipts: ReceiptSink):
        self.config = config
        self.receipts = receipts

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def check_config(cls, config: CarrierConfig) -> None:
        """Raise CarrierConfigError naming the field that is wrong. The default refuses unknown params."""
        for name in config.params:
            if name not in cls.PARAMS:
                known = ", ".join(sorted(cls.PARAMS)) or "none"
                raise CarrierConfigError(name, f"unknown parameter for {cls.kind} (known: {known})")

    @abstractmethod
    def submit(self, messages: list[OutboundMessage], *, journal: Journal) -> list[SubmitResult]:
        """One result per message, in any order. Call `journal(ids)` right before those messages may
        leave this process (before their PDUs or HTTP request are written): a crash after it leaves
        them ambiguous, a crash before it leaves them certainly unsent. May block (e.g. while an SMPP
        bind reconnects); gives up with FAILED after the adapter's own deadline."""

    def handle_callback(self, request):
        """HTTP carriers: a delivery-report callback -> (the answer the carrier expects, receipts).
        Forged: raise PermissionDenied (403, nothing changes). Default: 404, no callbacks."""
        from django.http import HttpResponseNotFound

        return HttpResponseNotFound("no callbacks for this carrier"), []

    def live_state(self) -> dict:
        return {}

    def close(self) -> None:
        pass
