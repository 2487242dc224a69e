"""requestSmsCode and verifySmsCode: parse, call one service, answer."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from smsplatform import fields
from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.schema import EmptySerializer, answers, json_body

from . import codes
from .fields import ChannelField, LabelField, SpendSmsBudgetAfterPhone, TtlField
from .models import Purpose
from .sending import VOICE_MAINLAND_ONLY

TAGS = ["SMS codes"]
CODE_IN_PATH = OpenApiParameter("code", str, OpenApiParameter.PATH, description="The six digits the SMS gave.")


def require_code_service(app) -> None:
    if not app.sms_code_service_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)


class RequestSmsCodeView(LeanCloudView):
    class InputSerializer(SpendSmsBudgetAfterPhone, fields.Params):
        """requestSmsCode's parameters; every other key is a template variable (a string or a number)."""

        additional_properties = {"description": "A template variable."}

        mobilePhoneNumber = fields.PhoneField(required=True)
        ttl = TtlField()
        smsType = ChannelField()
        name = LabelField(help_text="Fills `{name}`; the app's name by default.")
        op = LabelField(help_text="Fills `{op}`; without it the text drops `进行{op}操作`.")
        template = fields.OptionalText(
            help_text="An approved template's name: its text instead of the default (604 unknown, 605 not approved, "
                      "606 a variable missing). A notification template sends its text alone: no code.")
        sign = fields.OptionalText(
            help_text="With `template`: an approved signature of the app to sign with (600 unknown, 605 not approved); "
                      "else the template's own, else the app's default. Without `template` it is ignored.")
        validate_token = fields.OptionalText(help_text="From verifyCaptcha; the app's `force_captcha` needs one.")

        def to_internal_value(self, data):
            values = super().to_internal_value(data)
            values["variables"] = {key: value for key, value in data.items() if key not in self.fields}
            return values

    @extend_schema(
        summary="Send a verification code, or a template's notification", tags=TAGS, request=json_body(InputSerializer),
        responses=answers({200: EmptySerializer}, Errors.PHONE_MISSING, Errors.INVALID_PHONE, Errors.MALFORMED_JSON,
                          (Errors.BAD_REQUEST, "ttl must be a whole number from 1 to 1440."),
                          (Errors.BAD_REQUEST, "smsType must be 'sms' or 'voice'."), Errors.OPERATION_FORBIDDEN,
                          Errors.TOO_MANY_REQUESTS, (Errors.BAD_REQUEST, VOICE_MAINLAND_ONLY),
                          *codes.TEMPLATE_REFUSALS, *codes.REFUSALS),
    )
    def post(self, request):
        app = request.auth.app
        require_code_service(app)
        params = self.InputSerializer.parse(self.params(request), request=request)
        codes.request_code(
            app=app, phone=params["mobilePhoneNumber"], purpose=Purpose.SMS_CODE, ttl_minutes=params["ttl"],
            channel=params["smsType"], name=params["name"], op=params["op"], template=params["template"],
            sign=params["sign"], variables=params["variables"], validate_token=params["validate_token"],
        )
        return Response({})


class VerifySmsCodeView(LeanCloudView):
    class InputSerializer(fields.Params):
        mobilePhoneNumber = fields.PhoneField(required=True)

    @extend_schema(
        summary="Verify a code (once)", tags=TAGS, parameters=[CODE_IN_PATH], request=json_body(InputSerializer),
        responses=answers({200: EmptySerializer}, Errors.PHONE_MISSING, Errors.INVALID_PHONE, Errors.MALFORMED_JSON,
                          Errors.OPERATION_FORBIDDEN, Errors.TOO_MANY_REQUESTS, Errors.INVALID_SMS_CODE),
    )
    def post(self, request, code):
        app = request.auth.app
        require_code_service(app)
        enforce_ip_budget(request, IpBudget.CODE)
        params = self.InputSerializer.parse(self.params(request))
        codes.verify_code(app=app, phone=params["mobilePhoneNumber"], purpose=Purpose.SMS_CODE, code=code)
        return Response({})
