"""A local stand-in for Alibaba Cloud SMS (dysmsapi 2017-05-25 `SendSms`) and its SmsReport push.

It checks each request as Aliyun's API gateway does, from the documented V3 signature
(ACS3-HMAC-SHA256, written here from Alibaba Cloud's "V3 request structure and signature", not
taken from the SDK): the AccessKey ID must exist (404 InvalidAccessKeyId.NotFound), x-acs-date be
within 15 minutes (400 InvalidTimeStamp.Expired), the nonce be new (400 SignatureNonceUsed), the
payload hash and the signature match (400 SignatureDoesNotMatch). Then SendSms as its reference
documents it: MissingPhoneNumbers / MissingSignName / MissingTemplateCode (400), and with HTTP 200 a
`Code` that is OK (with a BizId) or a business error (isv.MOBILE_NUMBER_ILLEGAL,
isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.INVALID_JSON_PARAM,
isv.TEMPLATE_MISSING_PARAMETERS, isv.AMOUNT_NOT_ENOUGH, or one set per number such as
isv.BUSINESS_LIMIT_CONTROL).

`report(biz_id, ...)` is one SmsReport entry as the HTTP batch push carries it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from .fake_http import Answer, FakeHttpServer, Recorded

KEY_ID = "LTAI5tFakeKeyId0000000001"
KEY_SECRET = "fakeSecretFakeSecretFakeSecret01"
SIGN = "阿里云短信测试"
TEMPLATE = "SMS_154950909"

_DOMESTIC = re.compile(r"(?:\+|\+86|0086|86)?1[0-9]{10}")
_INTERNATIONAL = re.compile(r"[1-9][0-9]{7,14}")
CHINA = timezone(timedelta(hours=8))


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")   # RFC 3986: unreserved characters only, space as %20


def canonical_request(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
                      signed: list[str], payload_hash: str) -> str:
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    return "\n".join([method, path or "/", canonical_query, canonical_headers, ";".join(signed), payload_hash])


def v3_signature(secret: str, canonical: str) -> str:
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyun(FakeHttpServer):
    def __init__(self, keys: dict[str, str] | None = None):
        super().__init__()
        self.keys = dict(keys or {KEY_ID: KEY_SECRET})
        self.signs = {SIGN}
        self.templates = {TEMPLATE: ["code"]}      # TemplateCode -> its variables
        self.number_errors: dict[str, tuple[str, str]] = {}   # PhoneNumbers -> (Code, Message)
        self.balance_ok = True
        self.sent: list[dict] = []                 # what was accepted, as Aliyun would record it
        self.override: Answer | None = None
        self._nonces: set[str] = set()
        self._sent_lock = threading.Lock()

    def answer(self, request: Recorded) -> Answer:
        if self.override is not None:
            return self.override
        problem = self._authenticate(request)
        if problem:
            return problem
        if request.headers.get("x-acs-action") != "SendSms" or request.headers.get("x-acs-version") != "2017-05-25":
            return self._error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        return self._send_sms(request.query_dict)

    # --- the gateway ---------------------------------------------------------------------------

    def _authenticate(self, request: Recorded) -> Answer | None:
        headers = request.headers
        match = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)",
                             headers.get("authorization", ""))
        if not match:
            return self._error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        key_id, signed, signature = match.group(1), match.group(2).split(";"), match.group(3)
        if key_id not in self.keys:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        required = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
        if not required <= set(signed) or signed != sorted(signed):
            return self._error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        try:
            date = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs(datetime.now(timezone.utc) - date) > timedelta(minutes=15):
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        payload_hash = hashlib.sha256(request.body).hexdigest()
        canonical = canonical_request(request.method, request.path, request.query, headers, signed, payload_hash)
        expected = v3_signature(self.keys[key_id], canonical)
        if headers["x-acs-content-sha256"] != payload_hash or not hmac.compare_digest(expected, signature):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        nonce = headers["x-acs-signature-nonce"]
        with self._sent_lock:
            if nonce in self._nonces:
                return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        return None

    # --- SendSms -------------------------------------------------------------------------------

    def _send_sms(self, query: dict[str, str]) -> Answer:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not query.get(name):
                return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        phone, sign, template = query["PhoneNumbers"], query["SignName"], query["TemplateCode"]
        if "," in phone or not (_DOMESTIC.fullmatch(phone) or _INTERNATIONAL.fullmatch(phone)) or phone.startswith("+"):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if phone in self.number_errors:
            return self._business(*self.number_errors[phone])
        if sign not in self.signs:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if template not in self.templates:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        params = {}
        if query.get("TemplateParam"):
            try:
                params = json.loads(query["TemplateParam"])
            except ValueError:
                params = None
            if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
                return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(name not in params for name in self.templates[template]):
            return self._business("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        if not self.balance_ok:
            return self._business("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
        biz_id = f"{random.randrange(10**17, 10**18)}^0"
        with self._sent_lock:
            self.sent.append({"phone": phone, "sign": sign, "template": template, "params": params,
                              "out_id": query.get("OutId", ""), "biz_id": biz_id})
        return self._ok({"Code": "OK", "Message": "OK", "BizId": biz_id})

    # --- answers -------------------------------------------------------------------------------

    @staticmethod
    def _ok(body: dict) -> Answer:
        return Answer(200, json.dumps({**body, "RequestId": str(uuid.uuid4()).upper()}, ensure_ascii=False).encode())

    def _business(self, code: str, message: str) -> Answer:
        return self._ok({"Code": code, "Message": message})

    @staticmethod
    def _error(status: int, code: str, message: str) -> Answer:
        request_id = str(uuid.uuid4()).upper()
        return Answer(status, json.dumps({
            "RequestId": request_id, "HostId": "dysmsapi.aliyuncs.com", "Code": code, "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi&requestId={request_id}",
        }).encode())

    # --- SmsReport -----------------------------------------------------------------------------

    def report(self, biz_id: str, *, success: bool = True, err_code: str = "DELIVERED",
               err_msg: str = "用户接收成功", report_time: str | None = None) -> dict:
        sent = next((s for s in self.sent if s["biz_id"] == biz_id), {"phone": "13800138000", "out_id": ""})
        now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "phone_number": sent["phone"], "send_time": now, "report_time": report_time or now,
            "success": success, "err_code": err_code, "err_msg": err_msg, "sms_size": "1",
            "biz_id": biz_id, "out_id": sent["out_id"],
        }
