"""Helpers the tests share: a LeanCloud-speaking client, LeanCloud errors as a client reads them,
the console outbox, phone numbers.

Rows to start from are made by `tests.factories`.
"""
import itertools
import json
import re
import time
from pathlib import Path

from rest_framework.test import APIClient

from smsplatform import tokens
from smsplatform.errors import LeanCloudError

from . import openapi

_phones = itertools.count(1)
CODE_IN_TEXT = re.compile(r"(\d{6})")


def unique_phone() -> str:
    """A valid mainland mobile number that no other call of this run gets, and that no test spells
    out (those are +86 186...)."""
    return f"+86139{next(_phones) % 100000000:08d}"


def error_body(kind, text: str | None = None) -> dict:
    """The body of the LeanCloud error `kind` (an `Errors.X`), with `text` in place of its own if given."""
    return {"code": kind.code, "error": kind.text if text is None else text}


def assert_error(response, kind, text: str | None = None) -> None:
    """`response` is the LeanCloud error `kind` as both SDKs read it: the kind's HTTP status,
    `Content-Type: application/json`, and a body of exactly {"code", "error"} (the error `text`, if
    given, in place of the kind's own). For Django's test responses and for `requests`' alike."""
    try:
        body = response.json()
    except ValueError:
        body = response.content
    shown = (response.status_code, response.headers.get("Content-Type"), body)
    assert shown == (kind.status, "application/json", error_body(kind, text))


def sign_header(key: str, master: bool = False, timestamp: str | None = None) -> str:
    return tokens.sign_header(key, master=master, timestamp=timestamp)


def session(token: str) -> dict:
    """The header an SDK sends for its logged-in end user."""
    return {"HTTP_X_LC_SESSION": token}


class LeanCloudClient:
    """Speaks to the API in-process the way the SDKs do: JSON bodies, X-LC-Id and X-LC-Sign.

    Every answer is checked against the OpenAPI schema (tests/openapi.py)."""

    def __init__(self, app=None, master=False, capture=None):
        self.client = APIClient()
        self.app = app
        self.master = master
        self.capture = capture  # django_capture_on_commit_callbacks: run on-commit work as a commit would

    def headers(self, extra):
        headers = {}
        if self.app is not None:
            key = self.app.master_key if self.master else self.app.app_key
            headers = {"HTTP_X_LC_ID": self.app.app_id, "HTTP_X_LC_SIGN": sign_header(key, self.master)}
        headers.update(extra)
        return headers

    def request(self, method, path, data=None, raw=None, **extra):
        body = raw if raw is not None else (json.dumps(data) if data is not None else "")
        call = getattr(self.client, method)
        kwargs = dict(data=body, content_type="application/json;charset=utf-8", **self.headers(extra))
        if self.capture is None:
            return openapi.checked(method, path, call(path, **kwargs))
        with self.capture(execute=True):
            return openapi.checked(method, path, call(path, **kwargs))

    def post(self, path, data=None, **extra):
        return self.request("post", path, data, **extra)

    def get(self, path, **extra):
        return openapi.checked("get", path, self.client.get(path, **self.headers(extra)))

    def put(self, path, data=None, **extra):
        return self.request("put", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self.request("delete", path, data, **extra)


class Outbox:
    """The console carrier's JSON-lines outbox."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def messages(self, to: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        lines = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
        return [m for m in lines if to is None or m["to"] == to]

    def last_code(self, to: str) -> str:
        messages = self.messages(to)
        assert messages, f"no message to {to} in the outbox"
        text = messages[-1]["text"]
        if messages[-1]["channel"] == "voice":
            return text.replace(" ", "")
        return CODE_IN_TEXT.search(text.split("】", 1)[-1]).group(1)

    def wait_for(self, to: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages(to)
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {to} did not reach the outbox within {timeout}s")


def outcomes(limiter, rules, times):
    """What `limiter` makes of one action under `rules` at each of `times`: "ok", or the kind of the
    error that refuses it (an `Errors.X`)."""
    results = []
    for t in times:
        try:
            limiter.acquire(rules, now=t)
            results.append("ok")
        except LeanCloudError as error:
            results.append(error.kind)
    return results
