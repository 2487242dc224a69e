from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from smsplatform import fields
from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.schema import answers, json_body
from smsplatform.wire import NUL_IN_PARAMETERS

from . import selectors, services
from .images import challenge_png
from .models import HEIGHT, SIZE, TTL, WIDTH, Bounds

MASTER_ONLY = "{name} can only be set with the master key."
NOT_FOUND = "Captcha not found, expired or already answered."


def require_captcha_service(app) -> None:
    if not app.captcha_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)


TAGS = ["Captcha"]
MASTER_ONLY_PARAMS = ("size", "ttl")


def bounded(bounds: Bounds, help_text: str) -> fields.WholeNumber:
    return fields.WholeNumber(low=bounds.low, high=bounds.high, default=bounds.default, help_text=help_text)


def out_of_range(name: str, bounds: Bounds) -> tuple:
    return Errors.BAD_REQUEST, f"{name} must be a whole number from {bounds.low} to {bounds.high}."


class RequestCaptchaView(LeanCloudView):
    class InputSerializer(fields.Params):
        """The captcha's image and, with the master key only, its length and life."""

        width = bounded(WIDTH, "Pixels.")
        height = bounded(HEIGHT, "Pixels.")
        size = bounded(SIZE, "Characters; master key only (else 119).")
        ttl = bounded(TTL, "Seconds it can be answered; master key only (else 119).")

        def to_internal_value(self, data):
            # Who may set size and ttl is settled before any value is read: 119 comes before a bad width.
            if not self.context["is_master"]:
                for name in MASTER_ONLY_PARAMS:
                    if data.get(name) not in (None, ""):
                        raise LeanCloudError(Errors.OPERATION_FORBIDDEN, MASTER_ONLY.format(name=name))
            return super().to_internal_value(data)

    @extend_schema(
        summary="Ask for a captcha", tags=TAGS, parameters=[InputSerializer],
        responses=answers(
            {200: inline_serializer("Captcha", {
                "captcha_token": serializers.CharField(help_text="Answer it with verifyCaptcha."),
                "captcha_url": serializers.URLField(help_text="The image (`captchaImage`), for an `<img>`: no keys."),
            })},
            Errors.OPERATION_FORBIDDEN, (Errors.OPERATION_FORBIDDEN, MASTER_ONLY.format(name="size")),
            (Errors.OPERATION_FORBIDDEN, MASTER_ONLY.format(name="ttl")), out_of_range("width", WIDTH),
            out_of_range("height", HEIGHT), out_of_range("size", SIZE), out_of_range("ttl", TTL),
            Errors.MALFORMED_JSON, Errors.TOO_MANY_REQUESTS,
        ),
    )
    def get(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.InputSerializer.parse(self.params(request), is_master=request.auth.is_master)
        enforce_ip_budget(request, IpBudget.CAPTCHA)
        issued = services.issue_challenge(app=app, width=params["width"], height=params["height"],
                                          length=params["size"], ttl_seconds=params["ttl"])
        image = reverse("leancloud-captcha-image") + "?" + urlencode({"appId": app.app_id, "token": issued.token})
        return Response({"captcha_token": issued.token, "captcha_url": request.build_absolute_uri(image)})


class VerifyCaptchaView(LeanCloudView):
    class InputSerializer(fields.Params):
        captcha_token = fields.OptionalText(required=True, help_text="From requestCaptcha.")
        captcha_code = fields.OptionalText(required=True, help_text="What the image shows (any case).")

    @extend_schema(
        summary="Answer a captcha (once)", tags=TAGS, request=json_body(InputSerializer),
        responses=answers(
            {200: inline_serializer("ValidateToken", {
                "validate_token": serializers.CharField(help_text="Good for one SMS within 5 minutes."),
            })},
            Errors.OPERATION_FORBIDDEN, (Errors.BAD_REQUEST, services.ANSWER_MISSING),
            (Errors.BAD_REQUEST, services.CAPTCHA_GONE), (Errors.BAD_REQUEST, services.WRONG_ANSWER),
            Errors.MALFORMED_JSON, Errors.TOO_MANY_REQUESTS,
        ),
    )
    def post(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.InputSerializer.parse(self.params(request))
        enforce_ip_budget(request, IpBudget.VERIFY_CAPTCHA)
        validate_token = services.answer_challenge(app=app, token=params["captcha_token"], answer=params["captcha_code"])
        return Response({"validate_token": validate_token})


class JSONWhateverAccepted(BaseContentNegotiation):
    """The image view answers PNG or, on error, JSON, whatever `Accept` says (browsers ask for images)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0]


class CaptchaImageView(LeanCloudView):
    """GET captchaImage?appId=&token=: the image, to anyone holding the token (an `<img>` sends no keys)."""

    authentication_classes = []
    content_negotiation_class = JSONWhateverAccepted

    class InputSerializer(fields.Params):
        appId = fields.OptionalText(required=True)
        token = fields.OptionalText(required=True, help_text="The captcha_token.")

    @extend_schema(
        summary="A captcha's image", tags=TAGS, parameters=[InputSerializer],
        responses=answers({(200, "image/png"): OpenApiTypes.BINARY}, (Errors.NOT_FOUND, NOT_FOUND),
                          Errors.TOO_MANY_REQUESTS, (Errors.BAD_REQUEST, NUL_IN_PARAMETERS), authenticated=False),
    )
    def get(self, request):
        enforce_ip_budget(request, IpBudget.CAPTCHA_IMAGE)
        params = self.InputSerializer.parse(request.query_params.dict())
        app_id, token = params["appId"], params["token"]
        found = selectors.challenge_to_draw(app_id=app_id, token=token) if app_id and token else None
        png = challenge_png(hashkey=found[2], width=found[0], height=found[1]) if found else None
        if png is None:
            raise LeanCloudError(Errors.NOT_FOUND, NOT_FOUND)
        return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})
