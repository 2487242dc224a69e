"""SMPP 3.4 protocol layer: a long-lived windowed transceiver bind (smpplib 2.2.4), text encoding and
delivery receipts. Standard library and smpplib only: no Django, no project imports."""
from .bind import (
    STATUS_NAMES,
    THROTTLING_STATUSES,
    BindRefused,
    BindState,
    InboundMessage,
    Outcome,
    SmppBind,
    SmppBindError,
    SmppMessage,
    SmppResult,
    status_name,
)
from .encoding import EncodedText, MessageTooLong, count_parts, encode_text, gsm_septets
from .receipts import Receipt, make_receipt

__all__ = [
    "STATUS_NAMES", "THROTTLING_STATUSES", "BindRefused", "BindState", "EncodedText", "InboundMessage",
    "MessageTooLong", "Outcome", "Receipt", "SmppBind", "SmppBindError", "SmppMessage", "SmppResult",
    "count_parts", "encode_text", "gsm_septets", "make_receipt", "status_name",
]
