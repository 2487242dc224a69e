"""A local stand-in for Twilio's REST API (2010-04-01 Messages and Calls) and its status callbacks.

It answers as Twilio documents: HTTP basic auth with the Account SID and Auth Token (20003 on a
mismatch), form-encoded parameters, 201 with the resource's JSON, errors as
{"code", "message", "more_info", "status"} with HTTP 400. The magic numbers of Twilio's test
credentials give their documented errors (To +15005550001: 21211 invalid 'To'; +15005550002: 21612;
+15005550003: 21408; +15005550004: 21610; +15005550009: 21614; From not owned: 21606).

`status_callback(sid, status)` builds the callback Twilio would post for a message or call it holds,
to the StatusCallback URL it was given, signed as Twilio signs (X-Twilio-Signature: base64 of the
HMAC-SHA1, keyed with the Auth Token, of the URL followed by each POST field's name and value in
name order). The signing here is written from that description, not taken from the twilio package.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
from email.utils import format_datetime
from datetime import datetime, timezone

from .fake_http import Answer, FakeHttpServer, Recorded

ACCOUNT_SID = "AC3f1c0a9b8e7d6c5b4a39281706f5e4d3"
AUTH_TOKEN = "9c4b1e2f3a5d6c7b8a9e0f1d2c3b4a5e"
OWNED_NUMBER = "+15005550006"

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

MAGIC_TO = {
    "+15005550001": (21211, "Invalid 'To' Phone Number: {to}"),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {frm} via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


def twilio_signature(auth_token: str, url: str, params: dict[str, str], digest=hashlib.sha1) -> str:
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), digest).digest()).decode()


def error(status: int, code: int, message: str) -> Answer:
    return Answer(status, json.dumps({
        "code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status,
    }).encode())


def segments(body: str) -> int:
    if all(ch in _GSM7 for ch in body):
        return 1 if len(body) <= 160 else math.ceil(len(body) / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


class FakeTwilio(FakeHttpServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.owned = {OWNED_NUMBER}
        self.resources: dict[str, dict] = {}     # sid -> the resource (message or call) as created
        self.override: Answer | None = None      # answer every request with this (e.g. a 502)
        self._resource_lock = threading.Lock()

    def answer(self, request: Recorded) -> Answer:
        if self.override is not None:
            return self.override
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json", request.path)
        if request.method != "POST" or not match:
            return error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authenticated(request) or match.group(1) != self.account_sid:
            return error(401, 20003, "Authenticate")
        form = request.form()
        fields = dict(form)
        if match.group(2) == "Messages":
            return self._create_message(fields)
        return self._create_call(fields, form)

    def _authenticated(self, request: Recorded) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    def _create_message(self, fields: dict) -> Answer:
        to, frm, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        service = fields.get("MessagingServiceSid", "")
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not frm and not service:
            return error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return error(400, 21602, "Message body is required.")
        if to in MAGIC_TO:
            code, text = MAGIC_TO[to]
            return error(400, code, text.format(to=to, frm=frm))
        if not _E164.fullmatch(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if frm and frm not in self.owned:
            return error(400, 21606, f"The From phone number {frm} is not a valid, SMS-capable inbound phone number or short code for your account.")
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": frm or None,
            "messaging_service_sid": service or None, "num_media": "0",
            "num_segments": "0" if service else str(segments(body)), "price": None, "price_unit": "USD",
            "sid": sid, "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._resource_lock:
            self.resources[sid] = {**resource, "_status_callback": fields.get("StatusCallback", ""), "_kind": "message"}
        return Answer(201, json.dumps(resource).encode())

    def _create_call(self, fields: dict, form: list[tuple[str, str]]) -> Answer:
        to, frm = fields.get("To", ""), fields.get("From", "")
        if not to:
            return error(400, 21201, "No 'To' number is specified")
        if not frm:
            return error(400, 21213, "No 'From' number is specified")
        if not (fields.get("Url") or fields.get("Twiml") or fields.get("ApplicationSid")):
            return error(400, 21205, "Url parameter is required.")
        if not _E164.fullmatch(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if frm not in self.owned:
            return error(400, 21210, f"The source phone number provided, {frm}, is not yet verified for your account.")
        sid = "CA" + secrets.token_hex(16)
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "date_created": now,
            "date_updated": now, "direction": "outbound-api", "from": frm, "to": to, "sid": sid,
            "status": "queued", "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        with self._resource_lock:
            self.resources[sid] = {
                **resource, "_kind": "call", "_twiml": fields.get("Twiml", ""),
                "_status_callback": fields.get("StatusCallback", ""),
                "_events": [value for name, value in form if name == "StatusCallbackEvent"],
            }
        return Answer(201, json.dumps(resource).encode())

    # --- callbacks, as Twilio would post them ---------------------------------------------------

    def status_callback(self, sid: str, status: str, *, error_code: str = "", token: str | None = None,
                        url: str | None = None) -> tuple[str, dict[str, str], str]:
        """(url, fields, X-Twilio-Signature) of the status callback for `sid` in `status`."""
        resource = self.resources[sid]
        url = url if url is not None else resource["_status_callback"]
        if resource["_kind"] == "message":
            fields = {
                "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": resource["from"] or "",
                "To": resource["to"], "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
            }
            if status == "delivered":
                fields["RawDlrDoneDate"] = datetime.now(timezone.utc).strftime("%y%m%d%H%M")
        else:
            fields = {
                "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "CallSid": sid, "CallStatus": status,
                "Direction": "outbound-api", "From": resource["from"], "To": resource["to"],
                "CallbackSource": "call-progress-events", "SequenceNumber": "0",
                "Timestamp": format_datetime(datetime.now(timezone.utc)),
            }
            if status == "completed":
                fields["CallDuration"] = "9"
        if error_code:
            fields["ErrorCode"] = error_code
        return url, fields, twilio_signature(token or self.auth_token, url, fields)
