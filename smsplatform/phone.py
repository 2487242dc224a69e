"""Phone numbers: parsed once, at the edge, into E.164; everything inside handles E.164 strings.
Only mobile numbers are numbers here: a fixed line, a premium-rate or a satellite number is invalid (127).

The edges are the API (`phone_from_param`, and the serializer field built on it), model forms
(`PhoneNumberField`, for the admin) and imports (`normalize_phone`).
"""
import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models

from .errors import Errors, LeanCloudError

MAINLAND_CHINA = 86
INVALID = "The mobile phone number was invalid."
# What `phonenumbers` may call a mobile: a mobile, or a number of a plan (the US, Canada, ...) that
# does not tell mobiles from fixed lines. Never a fixed line, shared-cost, premium-rate, toll-free,
# VoIP, pager or personal number.
MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
# The "region" of numbers that belong to no country: satellite phones (+870, +881), international
# networks and VoIP (+882, +883), freephone and shared-cost (+800, +808), premium rate (+979).
NON_GEOGRAPHIC = phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY


class InvalidPhoneNumber(ValueError):
    pass


def is_mobile(parsed: phonenumbers.PhoneNumber) -> bool:
    """A valid number that takes an SMS: a mobile of a country (`MOBILE_TYPES`), not a satellite or network one.

    (A number of a known type is a valid one: `number_type` is `is_valid_number`'s own test.)"""
    return (phonenumbers.number_type(parsed) in MOBILE_TYPES
            and phonenumbers.region_code_for_number(parsed) != NON_GEOGRAPHIC)


def normalize_phone(raw) -> str:
    """E.164 form of `raw`, a mobile number (`is_mobile`); a number without a leading `+` is a Chinese (+86) one."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber(INVALID)
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(INVALID)
    if not is_mobile(parsed):
        raise InvalidPhoneNumber(INVALID)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_from_param(raw) -> str:
    """`normalize_phone` for API input: a missing number is LeanCloud's 212, a bad one 127."""
    if raw is None or raw == "":
        raise LeanCloudError(Errors.PHONE_MISSING)
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        raise LeanCloudError(Errors.INVALID_PHONE)


def is_mainland_china(e164: str) -> bool:
    return e164.startswith(f"+{MAINLAND_CHINA}")


class PhoneNumberField(models.CharField):
    """A number stored in E.164; a form (the admin) may type it any way `normalize_phone` reads."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise ValidationError(str(exc), code="invalid_phone")
