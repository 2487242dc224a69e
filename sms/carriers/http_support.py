"""What the HTTP carrier adapters (twilio, aliyun) share, with no carrier detail in it.

- `RequestPool`: sends a batch one HTTP request per message, a bounded number at once, on threads of
  its own; `journal` is still called on the caller's thread (where its database connection lives),
  right before each request leaves, for the messages about to go together.
- `transport_failure`: tells FAILED (the request certainly never reached the carrier) from UNKNOWN (it
  was, or may have been, written) for an exception raised by `requests`, wherever in the chain of
  an SDK's exceptions it sits. Its text never repeats the exception's own, which for `requests`
  holds the URL with its query (an Aliyun query carries the verification code).
- small parsers for the params of a carrier URL, raising CarrierConfigError with the field named.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError

from .base import CarrierConfigError, Outcome, OutboundMessage, SubmitResult

logger = logging.getLogger(__name__)

# Params every carrier URL may carry that the adapter itself does not read (the core takes `name`).
COMMON_PARAMS = frozenset({"name"})


class RequestPool:
    """A bounded pool of sending threads, one per adapter instance (thread-safe). At most `size`
    requests are on the wire at once for the whole adapter, whichever threads call `run`."""

    def __init__(self, *, size: int, thread_name: str):
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=thread_name)
        self._slots = threading.BoundedSemaphore(size)   # taken before the journal, freed after the answer
        self._lock = threading.Lock()
        self._closed = False
        self.in_flight = 0        # requests being written or waiting for their answer

    def run(
        self,
        messages: list[OutboundMessage],
        send: Callable[[OutboundMessage], SubmitResult],
        journal: Callable[[list[int]], None],
    ) -> list[SubmitResult]:
        """One result per message. `send(message)` writes its request; it runs only after
        `journal([..., message.id, ...])` returned. `journal` runs on this (the caller's) thread; if it
        raises, no message that it did not journal is sent, and the exception leaves `run` (the
        results of requests already on the wire are then lost: those messages stay journaled)."""
        if not messages:
            return []
        if self._closed:
            return [_closed(m) for m in messages]
        if len(messages) == 1:        # the common case at low load: no hand-off between threads
            return [self._run_one_inline(messages[0], send, journal)]
        return _Batch(self, messages, send, journal).run()

    def _run_one_inline(self, message, send, journal) -> SubmitResult:
        with self._slots:
            journal([message.id])     # if it raises, nothing is sent and the exception goes to the caller
            return self._send(message, send)

    def _send(self, message, send) -> SubmitResult:
        """Write one request; the caller holds a slot."""
        with self._lock:
            self.in_flight += 1
        try:
            return send(message)
        except Exception as exc:  # a bug after the journal: the request may have been written
            logger.error("sending message %s raised %s", message.id, type(exc).__name__)
            return SubmitResult(message.id, Outcome.UNKNOWN, error=f"the adapter failed while sending ({type(exc).__name__})")
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        """No new request starts; the ones on the wire finish (each within its own timeouts)."""
        self._closed = True
        self._executor.shutdown(wait=True)

    @property
    def closed(self) -> bool:
        return self._closed


class _Batch:
    """One `run` of several messages: the sending threads ask the caller's thread to journal each
    message (coalescing the asks that arrive together into one call) and wait for its word."""

    def __init__(self, pool: RequestPool, messages, send, journal):
        self.pool, self.messages, self.send, self.journal = pool, messages, send, journal
        self.asks: queue.SimpleQueue = queue.SimpleQueue()   # ("journal", id, gate) | ("done", result)
        self.lock = threading.Lock()
        self.abandoned = False

    def run(self) -> list[SubmitResult]:
        results: dict[int, SubmitResult] = {}
        pending = 0
        try:
            for message in self.messages:
                try:
                    self.pool._executor.submit(self._task, message)
                    pending += 1
                except RuntimeError:  # the pool was closed meanwhile
                    results[message.id] = _closed(message)
            while pending:
                asks = [self.asks.get()]
                while True:
                    try:
                        asks.append(self.asks.get_nowait())
                    except queue.Empty:
                        break
                to_journal = []
                for ask in asks:
                    if ask[0] == "done":
                        results[ask[1].message_id] = ask[1]
                        pending -= 1
                    else:
                        to_journal.append(ask)
                if to_journal:
                    self._journal(to_journal)
        finally:
            # Left early (e.g. a Celery soft time limit): nothing that was not journaled may go out.
            with self.lock:
                self.abandoned = True
                while True:
                    try:
                        ask = self.asks.get_nowait()
                    except queue.Empty:
                        break
                    if ask[0] == "journal":
                        ask[2].open(False)
        return list(results.values())

    def _journal(self, asks) -> None:
        ok = False
        try:
            self.journal([ask[1] for ask in asks])
            ok = True
        finally:   # a journal that raised: these are not sent, and the exception leaves `run`
            for ask in asks:
                ask[2].open(ok)

    def _task(self, message) -> None:
        result = None
        try:
            if self.pool.closed:
                result = _closed(message)
                return
            with self.pool._slots:
                gate = _Gate()
                with self.lock:
                    if self.abandoned:
                        result = SubmitResult(message.id, Outcome.FAILED, error="not sent: the batch was abandoned")
                        return
                    self.asks.put(("journal", message.id, gate))
                if not gate.wait():
                    result = SubmitResult(message.id, Outcome.FAILED, error="not sent: the journal failed")
                    return
                result = self.pool._send(message, self.send)
        finally:
            if result is None:  # only if _send itself raised BaseException: it may have been written
                result = SubmitResult(message.id, Outcome.UNKNOWN, error="the adapter failed while sending")
            self.asks.put(("done", result))


class _Gate:
    def __init__(self):
        self._event = threading.Event()
        self._ok = False

    def open(self, ok: bool) -> None:
        self._ok = ok
        self._event.set()

    def wait(self) -> bool:
        self._event.wait()
        return self._ok


def _closed(message: OutboundMessage) -> SubmitResult:
    return SubmitResult(message.id, Outcome.FAILED, error="not sent: the carrier was closed")


# --- FAILED or UNKNOWN ----------------------------------------------------------------------------

_BEFORE_SENDING = (
    requests.exceptions.ConnectTimeout,     # no connection within connect timeout
    requests.exceptions.SSLError,           # TLS handshake failed: nothing of the request was written
    requests.exceptions.ProxyError,         # the proxy refused or could not reach the carrier
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


def transport_failure(exc: BaseException, *, read_timeout: float) -> tuple[Outcome, str]:
    """FAILED or UNKNOWN for an exception raised while calling a carrier, with a text safe to store."""
    err = _find_in_chain(exc, requests.exceptions.RequestException)
    if err is None:
        # No transport error: the SDK failed on something else after the journal (e.g. an answer it
        # could not read). The request may have been written.
        return Outcome.UNKNOWN, f"no usable answer ({type(exc).__name__}): the message may have gone out"
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return Outcome.FAILED, "connect timeout: not sent"
    if isinstance(err, requests.exceptions.ReadTimeout):
        return Outcome.UNKNOWN, f"no answer within {read_timeout:g} s (read timeout): the message may have gone out"
    if isinstance(err, _BEFORE_SENDING):
        return Outcome.FAILED, f"could not reach the carrier ({type(err).__name__}): not sent"
    if isinstance(err, requests.exceptions.ConnectionError):
        reason = _urllib3_reason(err)
        if isinstance(reason, NameResolutionError):
            return Outcome.FAILED, "could not resolve the carrier's host: not sent"
        if isinstance(reason, NewConnectionError):
            return Outcome.FAILED, f"could not connect ({_os_error_text(reason)}): not sent"
        if isinstance(reason, ConnectTimeoutError):
            return Outcome.FAILED, "connect timeout: not sent"
        return Outcome.UNKNOWN, "connection lost after the request was sent: the message may have gone out"
    return Outcome.UNKNOWN, f"the answer was cut short ({type(err).__name__}): the message may have gone out"


def _find_in_chain(exc: BaseException, kind: type) -> BaseException | None:
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo += [getattr(current, "inner_exception", None), current.__cause__, current.__context__]
    return None


def _urllib3_reason(err: requests.exceptions.ConnectionError):
    reason = err.args[0] if err.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return reason


def _os_error_text(reason: NewConnectionError) -> str:
    text = str(reason)
    marker = "Failed to establish a new connection: "
    return text.split(marker, 1)[1] if marker in text else type(reason).__name__


# --- params ----------------------------------------------------------------------------------------

class CarrierFigures:
    """What an HTTP carrier adapter shows of itself live (`live_state`): its submit results by outcome
    and its last error, kept under one lock; `failed` records an error, logs it and makes its result."""

    def __init__(self, label: str, name: str, log: logging.Logger):
        self._label, self._name, self._log = label, name, log
        self._lock = threading.Lock()
        self._counts = {"accepted": 0, "failed": 0, "unknown": 0}
        self._last_error = ""
        self._last_error_at: datetime | None = None

    def count(self, results: list[SubmitResult]) -> None:
        with self._lock:
            for result in results:
                if result.outcome.value in self._counts:
                    self._counts[result.outcome.value] += 1

    def failed(self, message, outcome: Outcome, error_code: str, text: str) -> SubmitResult:
        with self._lock:
            self._last_error = f"{error_code} {text}".strip()
            self._last_error_at = datetime.now(timezone.utc)
        self._log.warning("%s carrier %s: message %s %s: %s", self._label, self._name, message.id, outcome.value, text)
        return SubmitResult(message.id, outcome, error_code=error_code, error=text)

    def state(self, pool: "RequestPool") -> dict:
        with self._lock:
            return {
                "in_flight": pool.in_flight,
                "concurrency": pool.size,
                **self._counts,
                "last_error": self._last_error,
                "last_error_at": self._last_error_at.isoformat() if self._last_error_at else None,
            }


def receipts_url(carrier_name: str) -> str:
    """Where carriers call back with receipts (SMS_CALLBACK_BASE_URL + /carriers/<name>/receipts), or ""."""
    base = (getattr(settings, "SMS_CALLBACK_BASE_URL", "") or "").rstrip("/")
    return f"{base}/carriers/{carrier_name}/receipts" if base else ""


def check_known_params(params: Mapping[str, str], known: Mapping[str, str]) -> None:
    for name in params:
        if name not in known and name not in COMMON_PARAMS:
            raise CarrierConfigError(name, f"unknown parameter (known: {', '.join(sorted(known))})")


def param(params: Mapping[str, str], defaults: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    return defaults[name] if value is None or value == "" else str(value)


def seconds_param(params, defaults, name: str, *, maximum: float = 120.0) -> float:
    raw = param(params, defaults, name)
    try:
        value = float(raw)
    except ValueError:
        raise CarrierConfigError(name, f"a number of seconds, not {raw!r}") from None
    if not 0 < value <= maximum:
        raise CarrierConfigError(name, f"between 0 and {maximum:g} seconds, not {raw}")
    return value


def int_param(params, defaults, name: str, *, minimum: int, maximum: int) -> int:
    raw = param(params, defaults, name)
    try:
        value = int(raw)
    except ValueError:
        raise CarrierConfigError(name, f"a whole number, not {raw!r}") from None
    if not minimum <= value <= maximum:
        raise CarrierConfigError(name, f"between {minimum} and {maximum}, not {value}")
    return value


def http_url_param(params, defaults, name: str) -> str:
    raw = param(params, defaults, name)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CarrierConfigError(name, f"an http(s) URL such as https://host[:port], not {raw!r}")
    if parts.query or parts.fragment or parts.username:
        raise CarrierConfigError(name, "an http(s) URL without query, fragment or credentials")
    try:
        parts.port
    except ValueError:
        raise CarrierConfigError(name, f"a valid port, not {raw!r}") from None
    return raw.rstrip("/")


def masked(secret: str) -> str:
    """For live_state and logs: whether a secret is set, never its value."""
    return "set" if secret else "not set"
