"""The SMS-specific parameters of a call (`smsplatform.fields` has the generic ones)."""
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.fields import OptionalText, Param
from smsplatform.limits import IpBudget, enforce_ip_budget
from templates_review.text_rules import MAX_LABEL_CHARACTERS

from . import codes
from .models import Channel, VerificationCode


def channel_from_param(raw) -> str:
    if raw in (None, "", Channel.SMS):
        return Channel.SMS
    if raw == Channel.VOICE:
        return Channel.VOICE
    raise LeanCloudError(Errors.BAD_REQUEST, "smsType must be 'sms' or 'voice'.")


class TtlField(Param):
    """A code's `ttl`: whole minutes (`codes.ttl_from_param`), `default` when absent."""

    def __init__(self, *, default: int = codes.DEFAULT_TTL_MINUTES, **kwargs):
        self.default_minutes = default
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return codes.ttl_from_param(data, default=self.default_minutes)

    def openapi_schema(self) -> dict:
        return {"type": "integer", "minimum": 1, "maximum": VerificationCode.MAX_TTL_MINUTES,
                "default": self.default_minutes,
                "description": "Minutes the code lives (a number or its text); out of range: code 1."}


class ChannelField(Param):
    """`smsType`: `sms` (the default) or `voice` (six spoken digits, mainland numbers only)."""

    def to_internal_value(self, data):
        return channel_from_param(data)

    def openapi_schema(self) -> dict:
        return {"type": "string", "enum": [Channel.SMS.value, Channel.VOICE.value], "default": Channel.SMS.value,
                "description": "`voice`: six spoken digits, mainland numbers only; anything else: code 1."}


class LabelField(OptionalText):
    """`name` or `op`: a short label that goes into the text. Read as text here; the text's own rules
    (`templates_review.text_rules`: the length, no 【】, links or control characters) refuse it, with
    code 1, where the text is made."""

    def openapi_schema(self) -> dict:
        return {"type": "string", "maxLength": MAX_LABEL_CHARACTERS,
                "description": "No 【 】, links or control characters (else code 1)."}


class SpendSmsBudgetAfterPhone:
    """Mixed into the InputSerializer of a call that sends an SMS: the client's per-IP SMS budget
    (429 past it) is spent once `mobilePhoneNumber` is read and good, before the parameters after it
    are (so a bad number costs nothing and a bad ttl still counts). Needs the request in the context."""

    def validate_mobilePhoneNumber(self, phone):
        enforce_ip_budget(self.context["request"], IpBudget.SMS)
        return phone
