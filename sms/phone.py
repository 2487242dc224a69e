"""Phone numbers: parsed once, at the edge, into E.164; everything inside handles E.164 strings."""
import phonenumbers

from smsplatform.errors import ErrorCode, LeanCloudError

MAINLAND_CHINA = 86


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw) -> str:
    """E.164 form of `raw`; a number without a leading `+` is a Chinese (+86) one."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("The mobile phone number was invalid.")
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("The mobile phone number was invalid.")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("The mobile phone number was invalid.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_from_param(raw) -> str:
    """`normalize_phone` for API input: a missing number is LeanCloud's 212, a bad one 127."""
    if raw is None or raw == "":
        raise LeanCloudError(ErrorCode.PHONE_MISSING)
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        raise LeanCloudError(ErrorCode.INVALID_PHONE)


def is_mainland_china(e164: str) -> bool:
    return e164.startswith(f"+{MAINLAND_CHINA}")
