"""requestSmsCode and verifySmsCode: parse, call one service, answer."""
from rest_framework.response import Response

from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.params import optional_text
from smsplatform.phone import phone_from_param

from . import codes
from .models import Channel, Purpose

# Keys of requestSmsCode that are not template variables.
REQUEST_SMS_CODE_KEYS = {"mobilePhoneNumber", "smsType", "ttl", "name", "op", "template", "sign", "validate_token"}


def channel_from_param(raw) -> str:
    if raw in (None, "", Channel.SMS):
        return Channel.SMS
    if raw == Channel.VOICE:
        return Channel.VOICE
    raise LeanCloudError(Errors.BAD_REQUEST, "smsType must be 'sms' or 'voice'.")


def require_code_service(app) -> None:
    if not app.sms_code_service_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)


class RequestSmsCodeView(LeanCloudView):
    def post(self, request):
        app = request.auth.app
        require_code_service(app)
        params = self.params(request)
        phone = phone_from_param(params.get("mobilePhoneNumber"))
        enforce_ip_budget(request, IpBudget.SMS)
        codes.request_code(
            app=app,
            phone=phone,
            purpose=Purpose.SMS_CODE,
            ttl_minutes=codes.ttl_from_param(params.get("ttl")),
            channel=channel_from_param(params.get("smsType")),
            name=optional_text(params.get("name")),
            op=optional_text(params.get("op")),
            template=optional_text(params.get("template")),
            sign=optional_text(params.get("sign")),
            variables={k: v for k, v in params.items() if k not in REQUEST_SMS_CODE_KEYS},
            validate_token=optional_text(params.get("validate_token")),
        )
        return Response({})


class VerifySmsCodeView(LeanCloudView):
    def post(self, request, code):
        app = request.auth.app
        require_code_service(app)
        phone = phone_from_param(self.params(request).get("mobilePhoneNumber"))
        codes.verify_code(app=app, phone=phone, purpose=Purpose.SMS_CODE, code=code)
        return Response({})
