"""JSON in and out the way LeanCloud clients speak it (kept apart from the views: DRF loads these
from its settings while it is still importing)."""
import json

from rest_framework import renderers
from rest_framework.parsers import BaseParser

from .errors import Errors, LeanCloudError


class JSONRenderer(renderers.JSONRenderer):
    """Plain `application/json`, UTF-8 text as it is (Chinese stays readable)."""

    ensure_ascii = False
    charset = None


class LeanCloudJSONParser(BaseParser):
    """Reads any body as JSON, whatever its Content-Type claims.

    Empty bodies and the literal `null` (sent by the JS SDK) read as `{}`; anything that is not a
    JSON object is LeanCloud's error 107.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
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
