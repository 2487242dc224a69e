"""Carrier adapters: the interface (`base`), the kinds that exist, and the `SMS_CARRIERS` parser
(`config`). Importing this package loads no ORM and no adapter: settings import it before Django's
apps are ready. The per-process adapters (one per carrier row) live in `sms.carriers.registry`.
"""
from django.utils.module_loading import import_string

from .base import (
    Carrier,
    CarrierConfig,
    CarrierConfigError,
    CarrierReceipt,
    Outcome,
    OutboundMessage,
    ReceiptSink,
    SubmitResult,
)

# kind -> adapter class, imported only when a carrier of that kind is used or checked, so that a kind
# whose module is absent (or whose library is not installed) breaks nothing else.
KINDS: dict[str, str] = {
    "console": "sms.carriers.console.ConsoleCarrier",
    "smpp": "sms.carriers.smpp.adapter.SmppCarrier",
    "twilio": "sms.carriers.twilio.TwilioCarrier",
    "aliyun": "sms.carriers.aliyun.AliyunCarrier",
}


def adapter_class(kind: str) -> type[Carrier]:
    """The adapter class of `kind`; CarrierConfigError("kind", ...) when there is none."""
    if kind not in KINDS:
        raise CarrierConfigError("kind", f"unknown carrier kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        return import_string(KINDS[kind])
    except ImportError as exc:
        raise CarrierConfigError("kind", f"the {kind} adapter is not installed ({KINDS[kind]}: {exc})")


__all__ = [
    "KINDS", "Carrier", "CarrierConfig", "CarrierConfigError", "CarrierReceipt", "Outcome", "OutboundMessage",
    "ReceiptSink", "SubmitResult", "adapter_class",
]
