"""Alibaba Cloud (Aliyun) SMS: `SendSms` (dysmsapi 2017-05-25, through the official
`alibabacloud_dysmsapi20170525` SDK) for SMS, the SmsReport HTTP batch push for receipts.

    aliyun://KEY_ID:KEY_SECRET@?region=cn-hangzhou&sign=...&template=SMS_123&callback_token=...

Aliyun sends approved templates only: the text we render is not sent; the template `template` is,
with the values `template_params` names. Params (PARAMS holds the defaults):

    region           cn-hangzhou: the RegionId the SDK signs for.
    endpoint         "" = the SDK's endpoint for `region` (dysmsapi.aliyuncs.com in mainland China).
                     host[:port]; tests: 127.0.0.1:PORT with protocol=http.
    protocol         https (http only for tests).
    sign             "" = each message's own signature: the SignName registered at Aliyun.
    template         the TemplateCode (SMS_ and digits). Required.
    template_params  code: which of our values go into TemplateParam. Comma-separated VAR or
                     VAR=SOURCE, SOURCE being `code` (the verification code) or `text` (the text
                     without its 【signature】); a bare VAR means VAR=code; `none` sends no
                     TemplateParam (a template without variables). Default `code` sends
                     {"code": "<code>"}. A message that lacks a value (a notification has no code)
                     is FAILED before anything is written, so its route passes it on to a carrier
                     that sends free text.
    callback_token   the secret that the receiving address set in Aliyun's console must carry as
                     ?token=: Aliyun's SmsReport push is not signed, so the URL is the secret.
                     Unset: every push is refused (403).
    connect_timeout  5 (seconds): no connection by then -> FAILED (not sent).
    read_timeout     10 (seconds): request written, no answer by then -> UNKNOWN.
    concurrency      8: SendSms calls in flight at once (one call per message: texts differ).

Numbers: mainland (+86) numbers go without the country code ("13800138000"); others as Aliyun's
international format asks, country code and number without "+" ("85291234567").
The report's `biz_id` is the BizId that SendSms answered (carrier_message_ids); OutId is our message id.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import datetime, timedelta, timezone

from alibabacloud_dysmsapi20170525.client import Client as DysmsClient
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, JsonResponse

from .base import Carrier, CarrierConfig, CarrierConfigError, CarrierReceipt, Outcome, OutboundMessage, SubmitResult
from .http_support import (
    CarrierFigures, RequestPool, check_known_params, int_param, masked, param, receipts_url, seconds_param,
    transport_failure,
)

logger = logging.getLogger(__name__)



class _RedactTemplateParam(logging.Filter):
    """SendSms carries its parameters in the URL's query, TemplateParam (the code) among them, and
    urllib3 logs each request's URL at DEBUG: the value is masked in those lines."""

    _PATTERN = re.compile(r"(TemplateParam=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._PATTERN.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


# darabonba-core sets its own logger to DEBUG with a stderr handler, and logs each request's URL
# when DEBUG=sdk is in the environment.
logging.getLogger("darabonba-core").setLevel(logging.WARNING)
if not any(isinstance(f, _RedactTemplateParam) for f in logging.getLogger("urllib3.connectionpool").filters):
    logging.getLogger("urllib3.connectionpool").addFilter(_RedactTemplateParam())

CHINA_TIME = timezone(timedelta(hours=8))   # report times are Beijing time (no daylight saving)
REPORT_ANSWER = {"code": 0, "msg": "成功"}

_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")
_ENDPOINT = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_TEMPLATE = re.compile(r"SMS_[0-9]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SOURCES = {"code", "text"}
_SIGNATURE_PREFIX = re.compile(r"^【[^】]*】")
# A gateway in front of the API that answers these wrote the request upstream and lost its answer.
_GATEWAY_LOST_ANSWER = {502, 504}


def parse_template_params(spec: str) -> dict[str, str]:
    """`code` -> {"code": "code"}; `number=code,content=text` -> {"number": "code", "content": "text"}."""
    if spec.strip() == "none":
        return {}
    mapping = {}
    for entry in spec.split(","):
        name, _, source = entry.strip().partition("=")
        name, source = name.strip(), (source.strip() or "code")
        if not _VARIABLE.fullmatch(name):
            raise CarrierConfigError("template_params", f"a template variable name, not {name!r} (VAR or VAR=code|text, comma-separated, or none)")
        if source not in _SOURCES:
            raise CarrierConfigError("template_params", f"{name}={source}: the value is `code` or `text`")
        mapping[name] = source
    return mapping


def aliyun_number(e164: str) -> str:
    """+8613800138000 -> 13800138000; +85291234567 -> 85291234567."""
    digits = e164.removeprefix("+")
    return digits[2:] if digits.startswith("86") else digits


class AliyunCarrier(Carrier):
    kind = "aliyun"
    supports_voice = False
    SECRET_PARAMS = frozenset({"callback_token"})
    PARAMS = {
        "region": "cn-hangzhou",
        "endpoint": "",
        "protocol": "https",
        "sign": "",
        "template": "",
        "template_params": "code",
        "callback_token": "",
        "connect_timeout": "5",
        "read_timeout": "10",
        "concurrency": "8",
    }

    def __init__(self, config: CarrierConfig, receipts):
        super().__init__(config, receipts)
        self.check_config(config)
        p = config.params
        self._name = config.name
        self._sign = param(p, self.PARAMS, "sign")
        self._template = param(p, self.PARAMS, "template")
        self._values = parse_template_params(param(p, self.PARAMS, "template_params"))
        self._token = param(p, self.PARAMS, "callback_token")
        self._read_timeout = seconds_param(p, self.PARAMS, "read_timeout")
        concurrency = int_param(p, self.PARAMS, "concurrency", minimum=1, maximum=64)
        self._client = DysmsClient(Config(
            access_key_id=config.username,
            access_key_secret=config.secret,
            region_id=param(p, self.PARAMS, "region"),
            endpoint=param(p, self.PARAMS, "endpoint") or None,
            protocol=param(p, self.PARAMS, "protocol"),
            connect_timeout=int(seconds_param(p, self.PARAMS, "connect_timeout") * 1000),
            read_timeout=int(self._read_timeout * 1000),
            max_idle_conns=concurrency,   # the SDK's connection pool for this endpoint
            retry_options=None,           # never again: SendSms is not idempotent
        ))
        self._runtime = RuntimeOptions()
        self._pool = RequestPool(size=concurrency, thread_name=f"aliyun-{config.name}")
        self._figures = CarrierFigures("Aliyun", config.name, logger)
        if not self._token:
            logger.warning("Aliyun carrier %s: no callback_token: every SmsReport push will be refused, "
                           "so no receipt will come", self._name)

    # --- config --------------------------------------------------------------------------------

    @classmethod
    def check_config(cls, config: CarrierConfig) -> None:
        p = config.params
        check_known_params(p, cls.PARAMS)
        if not config.username:
            raise CarrierConfigError("username", "the AccessKey ID is required")
        if not config.secret:
            raise CarrierConfigError("secret", "the AccessKey secret is required")
        if not _REGION.fullmatch(param(p, cls.PARAMS, "region")):
            raise CarrierConfigError("region", "a region ID such as cn-hangzhou")
        endpoint = param(p, cls.PARAMS, "endpoint")
        if endpoint and not _ENDPOINT.fullmatch(endpoint):
            raise CarrierConfigError("endpoint", f"host[:port] without scheme or path, such as dysmsapi.aliyuncs.com, not {endpoint!r}")
        if param(p, cls.PARAMS, "protocol") not in ("https", "http"):
            raise CarrierConfigError("protocol", "https or http")
        template = param(p, cls.PARAMS, "template")
        if not template:
            raise CarrierConfigError("template", "required: the TemplateCode of an approved template, such as SMS_154950909")
        if not _TEMPLATE.fullmatch(template):
            raise CarrierConfigError("template", f"a TemplateCode such as SMS_154950909, not {template!r}")
        parse_template_params(param(p, cls.PARAMS, "template_params"))
        token = param(p, cls.PARAMS, "callback_token")
        if token and not _TOKEN.fullmatch(token):
            raise CarrierConfigError("callback_token", "16 to 128 characters among A-Z a-z 0-9 _ -")
        seconds_param(p, cls.PARAMS, "connect_timeout")
        seconds_param(p, cls.PARAMS, "read_timeout")
        int_param(p, cls.PARAMS, "concurrency", minimum=1, maximum=64)

    # --- sending -------------------------------------------------------------------------------

    def submit(self, messages: list[OutboundMessage], *, journal) -> list[SubmitResult]:
        results, ready, requests_by_id = [], [], {}
        for message in messages:
            prepared = self._prepare(message)
            if isinstance(prepared, SubmitResult):
                results.append(prepared)
            else:
                ready.append(message)
                requests_by_id[message.id] = prepared
        results += self._pool.run(ready, lambda m: self._send(m, requests_by_id[m.id]), journal)
        self._figures.count(results)
        return results

    def _prepare(self, message: OutboundMessage) -> SendSmsRequest | SubmitResult:
        """The SendSms request, or FAILED for what cannot be sent (never journaled, never written)."""
        if message.channel != "sms":
            return SubmitResult(message.id, Outcome.FAILED, error="not sent: this Aliyun carrier sends SMS only")
        sign = self._sign or message.signature
        if not sign:
            return SubmitResult(message.id, Outcome.FAILED, error="not sent: no SignName (no `sign` param and no signature)")
        values = {}
        for name, source in self._values.items():
            value = message.code if source == "code" else _SIGNATURE_PREFIX.sub("", message.text).strip()
            if not value:
                return SubmitResult(message.id, Outcome.FAILED, error=(
                    f"not sent: template {self._template} needs ${{{name}}} from the message's {source}, "
                    f"and this message has none"))
            values[name] = value
        return SendSmsRequest(
            phone_numbers=aliyun_number(message.to),
            sign_name=sign,
            template_code=self._template,
            template_param=json.dumps(values, ensure_ascii=False) if values else None,
            out_id=str(message.id),
        )

    def _send(self, message: OutboundMessage, request: SendSmsRequest) -> SubmitResult:
        try:
            response = self._client.send_sms_with_options(request, self._runtime)
        except AlibabaCloudException as exc:
            return self._refused(message, exc)
        except Exception as exc:
            outcome, text = transport_failure(exc, read_timeout=self._read_timeout)
            return self._figures.failed(message, outcome, "", text)
        body = response.body
        code = (body.code if body is not None else "") or ""
        if code == "OK":   # without a BizId (never seen) no receipt can be matched; it was taken all the same
            return SubmitResult(message.id, Outcome.ACCEPTED, (body.biz_id,) if body.biz_id else ())
        if not code:
            return self._figures.failed(message, Outcome.UNKNOWN, "", "an answer without Code: the message may have gone out")
        text = body.message or ""
        return self._figures.failed(message, Outcome.FAILED, code, f"Aliyun {code}: {text}"[:255])

    def _refused(self, message, exc: AlibabaCloudException) -> SubmitResult:
        """An answer with an error status (4xx: the API refused the request; 5xx: it failed)."""
        status = exc.status_code or 0
        data = exc.data if isinstance(exc.data, dict) else {}
        code = exc.code if exc.code and exc.code != "None" else ""
        if status in _GATEWAY_LOST_ANSWER and not code:
            return self._figures.failed(message, Outcome.UNKNOWN, "",
                                f"HTTP {status} from a gateway in front of Aliyun: the message may have gone out")
        text = data.get("Message") or data.get("message") or f"HTTP {status}"
        return self._figures.failed(message, Outcome.FAILED, code, f"Aliyun {code or status}: {text}"[:255])

    # --- receipts ------------------------------------------------------------------------------

    def handle_callback(self, request) -> tuple[HttpResponse, list[CarrierReceipt]]:
        given = request.GET.get("token", "")
        if not self._token or not given or not hmac.compare_digest(given.encode(), self._token.encode()):
            logger.warning("Aliyun carrier %s: SmsReport push refused (%s) from %s", self._name,
                           "no callback_token configured" if not self._token else "wrong or missing token",
                           request.META.get("REMOTE_ADDR", "?"))
            raise PermissionDenied("wrong callback token")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"]), []
        try:
            reports = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return HttpResponseBadRequest("not JSON"), []
        if not isinstance(reports, list):
            return HttpResponseBadRequest("not a JSON array of reports"), []
        receipts = []
        for report in reports:
            receipt = _receipt(report)
            if receipt is None:
                return HttpResponseBadRequest("a report without biz_id or success"), []
            receipts.append(receipt)
        return JsonResponse(REPORT_ANSWER, json_dumps_params={"ensure_ascii": False}), receipts

    def callback_url(self) -> str:
        """The receiving address to set in Aliyun's console (SmsReport, HTTP batch push)."""
        url = receipts_url(self._name)
        return f"{url}?token={self._token}" if url else ""

    # --- state ---------------------------------------------------------------------------------

    def live_state(self) -> dict:
        url = self.callback_url()
        return {
            **self._figures.state(self._pool),
            "callback_url": url.replace(self._token, "…") if url and self._token else (url or None),
            "callback_token": masked(self._token),
            "closed": self._pool.closed,
        }

    def close(self) -> None:
        self._pool.close()


def _receipt(report) -> CarrierReceipt | None:
    if not isinstance(report, dict):
        return None
    biz_id, success = report.get("biz_id"), report.get("success")
    if isinstance(success, str) and success in ("true", "false"):
        success = success == "true"
    if not isinstance(biz_id, str) or not biz_id or not isinstance(success, bool):
        return None
    return CarrierReceipt(
        carrier_message_id=biz_id,
        delivered=success,
        error_code="" if success else str(report.get("err_code") or ""),
        raw=json.dumps(report, ensure_ascii=False),
        done_at=_china_time(report.get("report_time")),
    )


def _china_time(value) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME) if value else None
    except (TypeError, ValueError):
        return None
