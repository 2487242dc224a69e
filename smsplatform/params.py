"""Reading the parameters of a call: one way for every view."""
import re

from .errors import Errors, LeanCloudError

_WHOLE_NUMBER = re.compile(r"\d{1,9}")


def non_empty_string(raw) -> str | None:
    """A non-empty string, or None (a number is not a string here: passwords and usernames)."""
    return raw if isinstance(raw, str) and raw != "" else None


def optional_text(raw) -> str | None:
    """A text parameter, or None when absent or empty; numbers are taken as their text."""
    if isinstance(raw, bool) or raw is None or raw == "":
        return None
    return str(raw) if isinstance(raw, (str, int)) else None


def whole_number(raw, *, name: str, low: int, high: int, default: int) -> int:
    """A whole number within [low, high] (given as a number or its text), or `default` when absent."""
    if raw is None or raw == "":
        return default
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not _WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise LeanCloudError(Errors.BAD_REQUEST, f"{name} must be a whole number from {low} to {high}.")
    return int(text)

