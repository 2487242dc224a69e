"""Twilio: SMS through the Messages API, voice codes through the Calls API (TwiML <Say> of the digits),
receipts from the status callbacks Twilio posts to `/carriers/<name>/receipts`, each checked with
`X-Twilio-Signature` (the official `twilio` package's RequestValidator).

    twilio://ACCOUNT_SID:AUTH_TOKEN@?from=%2B15550000000

Params (PARAMS holds the defaults; `check_config` names the field that is wrong):

    from                   the sender: an E.164 number (%2B for + in a URL), a short code or an
                           alphanumeric sender ID (SMS only). Required unless messaging_service_sid.
                           Voice calls need an E.164 number.
    messaging_service_sid  MG...: send SMS through a Messaging Service (Twilio picks the sender).
    api_base               https://api.twilio.com. For tests and proxies: where the Messages and
                           Calls resources live (http://127.0.0.1:PORT for a local server).
    connect_timeout        5 (seconds): no connection by then -> FAILED (not sent).
    read_timeout           10 (seconds): request written, no answer by then -> UNKNOWN.
    concurrency            8: requests in flight at once for one batch (Twilio has no batch send).
    voice_language         zh-CN: the <Say language> of voice codes.
    shared_key_secret      only for webhooks that Twilio signs with a SharedKey (Webhook Settings,
                           header X-Twilio-Webhooks-Signature-Settings); others use the auth token.

Status callbacks go to settings.SMS_CALLBACK_BASE_URL + /carriers/<name>/receipts; with the setting
empty, messages go out without one (said once in the log) and no receipt comes for them.
"""
from __future__ import annotations

import email.utils
import logging
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from .base import Carrier, CarrierConfig, CarrierConfigError, CarrierReceipt, Outcome, OutboundMessage, SubmitResult
from .http_support import (
    CarrierFigures, RequestPool, check_known_params, http_url_param, int_param, masked, param, receipts_url,
    seconds_param, transport_failure,
)

logger = logging.getLogger(__name__)

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SHORT_CODE = re.compile(r"[0-9]{5,6}")
_ALPHANUMERIC_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Final message statuses (Messages resource, "status"); any other one is on its way.
_MESSAGE_DELIVERED = {"delivered", "read"}
_MESSAGE_FAILED = {"undelivered", "failed", "canceled"}
# Final call statuses: the call was answered (and the code spoken), or it never was.
_CALL_DELIVERED = {"completed"}
_CALL_FAILED = {"busy", "failed", "no-answer", "canceled"}
# A gateway in front of the API that answers these wrote the request upstream and lost its answer.
_GATEWAY_LOST_ANSWER = {502, 504}


class _HttpClient(TwilioHttpClient):
    """Twilio's requests-based client with one connection pool per adapter, no retries, and the
    (connect, read) timeout pair that requests takes (the base class takes one number only)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, pool_size: int):
        super().__init__(pool_connections=True, timeout=None, logger=logging.getLogger(f"{__name__}.http"))
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.timeout = (connect_timeout, read_timeout)


class TwilioCarrier(Carrier):
    kind = "twilio"
    supports_voice = True
    SECRET_PARAMS = frozenset({"shared_key_secret"})
    PARAMS = {
        "from": "",
        "messaging_service_sid": "",
        "api_base": "https://api.twilio.com",
        "connect_timeout": "5",
        "read_timeout": "10",
        "concurrency": "8",
        "voice_language": "zh-CN",
        "shared_key_secret": "",
    }

    def __init__(self, config: CarrierConfig, receipts):
        super().__init__(config, receipts)
        self.check_config(config)
        self._name = config.name
        self._account_sid = config.username
        self._auth_token = config.secret
        p = config.params
        self._from = param(p, self.PARAMS, "from")
        self._service_sid = param(p, self.PARAMS, "messaging_service_sid")
        self._read_timeout = seconds_param(p, self.PARAMS, "read_timeout")
        self._language = param(p, self.PARAMS, "voice_language")
        self._shared_key_secret = param(p, self.PARAMS, "shared_key_secret")
        concurrency = int_param(p, self.PARAMS, "concurrency", minimum=1, maximum=64)

        self._http = _HttpClient(
            connect_timeout=seconds_param(p, self.PARAMS, "connect_timeout"),
            read_timeout=self._read_timeout, pool_size=concurrency,
        )
        # environment: the SDK reads TWILIO_* (credentials, region, edge) from os.environ unless it
        # is given a non-empty mapping; this carrier's config is the only source.
        client = Client(
            self._account_sid, self._auth_token, http_client=self._http,
            environment={"TWILIO_ACCOUNT_SID": self._account_sid},
        )
        client.api.base_url = http_url_param(p, self.PARAMS, "api_base")
        account = client.api.v2010.accounts(self._account_sid)
        self._messages = account.messages
        self._calls = account.calls
        self._pool = RequestPool(size=concurrency, thread_name=f"twilio-{config.name}")

        self._figures = CarrierFigures("Twilio", config.name, logger)
        self._said_no_callback = False

    # --- config --------------------------------------------------------------------------------

    @classmethod
    def check_config(cls, config: CarrierConfig) -> None:
        p = config.params
        check_known_params(p, cls.PARAMS)
        if not _ACCOUNT_SID.fullmatch(config.username or ""):
            raise CarrierConfigError("username", "the Twilio Account SID: AC followed by 32 hex digits")
        if not config.secret:
            raise CarrierConfigError("secret", "the Twilio Auth Token is required")
        sender = param(p, cls.PARAMS, "from")
        service = param(p, cls.PARAMS, "messaging_service_sid")
        if not sender and not service:
            raise CarrierConfigError("from", "required: the sender's E.164 number (%2B for + in a URL), or give messaging_service_sid")
        if sender and not (_E164.fullmatch(sender) or _SHORT_CODE.fullmatch(sender) or _ALPHANUMERIC_ID.fullmatch(sender)):
            raise CarrierConfigError(
                "from", f"an E.164 number such as +15550000000 (write + as %2B in a URL), a short code or an "
                        f"alphanumeric sender ID of up to 11 characters, not {sender!r}")
        if service and not _SERVICE_SID.fullmatch(service):
            raise CarrierConfigError("messaging_service_sid", "MG followed by 32 hex digits")
        http_url_param(p, cls.PARAMS, "api_base")
        seconds_param(p, cls.PARAMS, "connect_timeout")
        seconds_param(p, cls.PARAMS, "read_timeout")
        int_param(p, cls.PARAMS, "concurrency", minimum=1, maximum=64)
        if not _LANGUAGE.fullmatch(param(p, cls.PARAMS, "voice_language")):
            raise CarrierConfigError("voice_language", "a language tag such as zh-CN or en-US")

    # --- sending -------------------------------------------------------------------------------

    def submit(self, messages: list[OutboundMessage], *, journal) -> list[SubmitResult]:
        callback = self._callback_url()
        if not callback and not self._said_no_callback:
            self._said_no_callback = True
            logger.warning(
                "Twilio carrier %s: SMS_CALLBACK_BASE_URL is empty: messages go out without a status "
                "callback, so no receipt will come for them", self._name)
        results, ready = [], []
        for message in messages:
            refused = self._refuse(message)
            if refused:
                results.append(refused)
            else:
                ready.append(message)
        results += self._pool.run(ready, lambda m: self._send(m, callback), journal)
        self._figures.count(results)
        return results

    def _refuse(self, message: OutboundMessage) -> SubmitResult | None:
        """What can be refused without writing anything (these messages are never journaled)."""
        if message.channel == "voice":
            if not _E164.fullmatch(self._from):
                return SubmitResult(message.id, Outcome.FAILED, error="not sent: voice calls need an E.164 `from` number")
            if not _digits_to_speak(message):
                return SubmitResult(message.id, Outcome.FAILED, error="not sent: no digits to speak")
        elif message.channel != "sms":
            return SubmitResult(message.id, Outcome.FAILED, error=f"not sent: unknown channel {message.channel!r}")
        return None

    def _send(self, message: OutboundMessage, callback: str) -> SubmitResult:
        try:
            if message.channel == "voice":
                call = self._calls.create(
                    to=message.to, from_=self._from, twiml=self.twiml_for(message),
                    **({"status_callback": callback, "status_callback_event": ["completed"]} if callback else {}),
                )
                return SubmitResult(message.id, Outcome.ACCEPTED, (call.sid,))
            sent = self._messages.create(
                to=message.to, body=message.text,
                **({"from_": self._from} if self._from else {}),
                **({"messaging_service_sid": self._service_sid} if self._service_sid else {}),
                **({"status_callback": callback} if callback else {}),
            )
            return SubmitResult(message.id, Outcome.ACCEPTED, (sent.sid,), wire_parts=_parts(sent.num_segments))
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._refused_by_twilio(message, exc)
        except TwilioException as exc:  # raised by the SDK before any request (e.g. a bad argument)
            return self._figures.failed(message, Outcome.FAILED, "", f"not sent: {type(exc).__name__}")
        except Exception as exc:
            outcome, text = transport_failure(exc, read_timeout=self._read_timeout)
            return self._figures.failed(message, outcome, "", text)

    def _refused_by_twilio(self, message, exc) -> SubmitResult:
        status = int(getattr(exc, "status", 0) or 0)
        code = getattr(exc, "code", None)
        twilio_code = str(code) if code and code != status else ""
        if status in _GATEWAY_LOST_ANSWER and not twilio_code:
            return self._figures.failed(message, Outcome.UNKNOWN, "",
                                f"HTTP {status} from a gateway in front of Twilio: the message may have gone out")
        text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None) or ""
        text = str(text).removeprefix("Unable to create record: ")
        label = f"Twilio {twilio_code}" if twilio_code else f"Twilio HTTP {status}"
        return self._figures.failed(message, Outcome.FAILED, twilio_code, f"{label}: {text}"[:255])

    def twiml_for(self, message: OutboundMessage) -> str:
        """The call's TwiML: the code's digits, one by one ("1 2 3 4 5 6")."""
        response = VoiceResponse()
        response.say(" ".join(_digits_to_speak(message)), language=self._language)
        return str(response)

    def _callback_url(self) -> str:
        return receipts_url(self._name)

    # --- receipts ------------------------------------------------------------------------------

    def handle_callback(self, request) -> tuple[HttpResponse, list[CarrierReceipt]]:
        url = self._callback_url()   # the URL Twilio was given (and signed), not the one it reached
        signature = request.headers.get(SIGNATURE_HEADER, "")
        signing = request.headers.get(SIGNATURE_SETTINGS_HEADER, "")
        secret = self._shared_key_secret if signing else self._auth_token
        if not url or not signature or not secret:
            logger.warning("Twilio carrier %s: callback refused (%s)", self._name,
                           "no SMS_CALLBACK_BASE_URL" if not url else "no signature" if not signature
                           else "signed with a SharedKey, and shared_key_secret is not set")
            raise PermissionDenied("Twilio signature missing")
        if request.method == "GET":   # StatusCallbackMethod=GET: the fields are in the signed URL
            raw = request.META.get("QUERY_STRING", "")
            url, params, fields = (f"{url}?{raw}" if raw else url), {}, dict(parse_qsl(raw, keep_blank_values=True))
        else:
            raw = request.body.decode("utf-8", "replace")   # read first: request.POST parses from it
            params = fields = request.POST
        if not RequestValidator(secret).validate(url, params, signature, get_signature_algorithm(signing)):
            logger.warning("Twilio carrier %s: callback with a wrong signature from %s", self._name,
                           request.META.get("REMOTE_ADDR", "?"))
            raise PermissionDenied("Twilio signature does not match")

        get = fields.get
        receipt = None
        if get("MessageSid") or get("SmsSid"):
            sid = get("MessageSid") or get("SmsSid")
            status = (get("MessageStatus") or get("SmsStatus") or "").lower()
            if status in _MESSAGE_DELIVERED:
                receipt = CarrierReceipt(sid, True, raw=raw, done_at=_dlr_done_date(get("RawDlrDoneDate")))
            elif status in _MESSAGE_FAILED:
                receipt = CarrierReceipt(sid, False, error_code=get("ErrorCode") or status, raw=raw,
                                         done_at=_dlr_done_date(get("RawDlrDoneDate")))
        elif get("CallSid"):
            sid, status = get("CallSid"), (get("CallStatus") or "").lower()
            if status in _CALL_DELIVERED:
                receipt = CarrierReceipt(sid, True, raw=raw, done_at=_rfc2822(get("Timestamp")))
            elif status in _CALL_FAILED:
                receipt = CarrierReceipt(sid, False, error_code=get("ErrorCode") or status, raw=raw,
                                         done_at=_rfc2822(get("Timestamp")))
        return HttpResponse(EMPTY_TWIML, content_type="text/xml"), ([receipt] if receipt else [])

    # --- state ---------------------------------------------------------------------------------

    def live_state(self) -> dict:
        return {
            **self._figures.state(self._pool),
            "callback_url": self._callback_url() or None,
            "shared_key_secret": masked(self._shared_key_secret),
            "closed": self._pool.closed,
        }

    def close(self) -> None:
        self._pool.close()
        self._http.session.close()


def _digits_to_speak(message: OutboundMessage) -> str:
    return re.sub(r"[^0-9]", "", message.code) or re.sub(r"[^0-9]", "", message.text)


def _parts(num_segments) -> int:
    try:
        return max(1, int(num_segments))
    except (TypeError, ValueError):
        return 1


def _dlr_done_date(value) -> datetime | None:
    """RawDlrDoneDate: the carrier's done date, YYMMDDhhmm (UTC)."""
    try:
        return datetime.strptime(value, "%y%m%d%H%M").replace(tzinfo=timezone.utc) if value else None
    except ValueError:
        return None


def _rfc2822(value) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
