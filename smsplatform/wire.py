"""JSON in and out the way LeanCloud clients speak it (kept apart from the views: DRF loads these
from its settings while it is still importing)."""
import json
import math

from django.conf import settings
from rest_framework import renderers
from rest_framework.parsers import BaseParser

from .errors import Errors, LeanCloudError


class JSONRenderer(renderers.JSONRenderer):
    """Plain `application/json`, UTF-8 text as it is (Chinese stays readable)."""

    ensure_ascii = False
    charset = None


def too_large() -> LeanCloudError:
    return LeanCloudError(Errors.OBJECT_TOO_LARGE,
                          f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.")


def read_body(stream, meta) -> bytes:
    """The body, at most API_MAX_BODY_BYTES of it (116 with 413 past that): a declared Content-Length
    over the limit is refused before a byte is read, and no more than the limit (and one byte) is
    ever read. The parser reads the stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not apply."""
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large()
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise too_large()
    return raw


class LeanCloudJSONParser(BaseParser):
    """Reads any body as JSON, whatever its Content-Type claims.

    Empty bodies and the literal `null` (sent by the JS SDK) read as `{}`; anything that is not a
    JSON object is LeanCloud's error 107, and so are NaN, Infinity, numbers out of a float's range,
    lone surrogates and nesting past API_MAX_JSON_DEPTH; a NUL in a string is code 1
    (`NUL_IN_PARAMETERS`); a body over API_MAX_BODY_BYTES is 116 (413).
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        raw = read_body(stream, request.META if request is not None else {})
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise LeanCloudError(Errors.MALFORMED_JSON)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise LeanCloudError(Errors.MALFORMED_JSON)
        check_json(data)
        return data


NUL_IN_PARAMETERS = "Parameters may not contain NUL characters."


def refuse_nul(text: str) -> None:
    """A NUL in a parameter (no database stores one in text) is refused, never passed on."""
    if "\x00" in text:
        raise LeanCloudError(Errors.BAD_REQUEST, NUL_IN_PARAMETERS)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity: Python's extensions, no database's


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # 1e999
        raise ValueError(f"{text} is out of range")
    return value


def _check_string(text: str) -> None:
    refuse_nul(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no UTF-8 text holds one
            raise LeanCloudError(Errors.MALFORMED_JSON)


def check_json(data) -> None:
    """What a database and the JSON answer can hold: nested at most API_MAX_JSON_DEPTH deep (the body
    is the first level), no NUL (code 1) and no lone surrogate (107) in any key or string."""
    limit = settings.API_MAX_JSON_DEPTH
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_string(value)
        elif isinstance(value, (dict, list)):
            if depth > limit:
                raise LeanCloudError(Errors.MALFORMED_JSON)
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_string(key)
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in value)
