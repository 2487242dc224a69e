"""JSON in and out the way LeanCloud clients speak it (kept apart from the views: DRF loads these
from its settings while it is still importing)."""
import json

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
    JSON object is LeanCloud's error 107; a body over API_MAX_BODY_BYTES is 116 (413).
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        raw = read_body(stream, request.META if request is not None else {})
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise LeanCloudError(Errors.MALFORMED_JSON)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise LeanCloudError(Errors.MALFORMED_JSON)
        return data
