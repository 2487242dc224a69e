import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from smsplatform.api import LeanCloudView, enforce_ip_flow_control
from smsplatform.errors import ErrorCode, LeanCloudError

from . import selectors, services
from .images import challenge_png
from .models import HEIGHT, SIZE, TTL, WIDTH, Bounds

WHOLE_NUMBER = re.compile(r"\d{1,4}")
MASTER_ONLY = "{name} can only be set with the master key."
NOT_FOUND = "Captcha not found, expired or already answered."


def require_captcha_service(app) -> None:
    if not app.captcha_enabled:
        raise LeanCloudError(ErrorCode.OPERATION_FORBIDDEN)


def whole_number(params: dict, name: str, bounds: Bounds) -> int:
    """`params[name]` as an int within bounds, or the default when absent."""
    low, high, default = bounds
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise LeanCloudError(ErrorCode.INTERNAL, f"{name} must be a whole number from {low} to {high}.")
    return int(text)


def optional_text(raw) -> str | None:
    return str(raw) if raw not in (None, "") else None


class RequestCaptchaView(LeanCloudView):
    def get(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.params(request)
        for name in ("size", "ttl"):
            if params.get(name) not in (None, "") and not request.auth.is_master:
                raise LeanCloudError(ErrorCode.OPERATION_FORBIDDEN, MASTER_ONLY.format(name=name))
        width = whole_number(params, "width", WIDTH)
        height = whole_number(params, "height", HEIGHT)
        size = whole_number(params, "size", SIZE)
        ttl = whole_number(params, "ttl", TTL)
        enforce_ip_flow_control(request, "captcha", settings.RATELIMIT_CAPTCHA_PER_IP)
        issued = services.issue_challenge(app=app, width=width, height=height, length=size, ttl_seconds=ttl)
        image = reverse("leancloud-captcha-image") + "?" + urlencode({"appId": app.app_id, "token": issued.token})
        return Response({"captcha_token": issued.token, "captcha_url": request.build_absolute_uri(image)})


class VerifyCaptchaView(LeanCloudView):
    def post(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.params(request)
        enforce_ip_flow_control(request, "captcha-verify", settings.RATELIMIT_VERIFY_CAPTCHA_PER_IP)
        validate_token = services.answer_challenge(
            app=app, token=optional_text(params.get("captcha_token")), answer=optional_text(params.get("captcha_code")),
        )
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

    def get(self, request):
        enforce_ip_flow_control(request, "captcha-image", settings.RATELIMIT_CAPTCHA_IMAGE_PER_IP)
        app_id, token = request.query_params.get("appId"), request.query_params.get("token")
        found = selectors.challenge_to_draw(app_id=app_id, token=token) if app_id and token else None
        png = challenge_png(hashkey=found[2], width=found[0], height=found[1]) if found else None
        if png is None:
            raise LeanCloudError(ErrorCode.INTERNAL, NOT_FOUND, status=404)
        return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})
