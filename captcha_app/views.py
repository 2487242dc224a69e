from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from smsplatform.api import LeanCloudView
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.params import optional_text, whole_number

from . import selectors, services
from .images import challenge_png
from .models import HEIGHT, SIZE, TTL, WIDTH, Bounds

MASTER_ONLY = "{name} can only be set with the master key."
NOT_FOUND = "Captcha not found, expired or already answered."


def require_captcha_service(app) -> None:
    if not app.captcha_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)


def bounded(params: dict, name: str, bounds: Bounds) -> int:
    return whole_number(params.get(name), name=name, low=bounds.low, high=bounds.high, default=bounds.default)


class RequestCaptchaView(LeanCloudView):
    def get(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.params(request)
        for name in ("size", "ttl"):
            if params.get(name) not in (None, "") and not request.auth.is_master:
                raise LeanCloudError(Errors.OPERATION_FORBIDDEN, MASTER_ONLY.format(name=name))
        width = bounded(params, "width", WIDTH)
        height = bounded(params, "height", HEIGHT)
        size = bounded(params, "size", SIZE)
        ttl = bounded(params, "ttl", TTL)
        enforce_ip_budget(request, IpBudget.CAPTCHA)
        issued = services.issue_challenge(app=app, width=width, height=height, length=size, ttl_seconds=ttl)
        image = reverse("leancloud-captcha-image") + "?" + urlencode({"appId": app.app_id, "token": issued.token})
        return Response({"captcha_token": issued.token, "captcha_url": request.build_absolute_uri(image)})


class VerifyCaptchaView(LeanCloudView):
    def post(self, request):
        app = request.auth.app
        require_captcha_service(app)
        params = self.params(request)
        enforce_ip_budget(request, IpBudget.VERIFY_CAPTCHA)
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
        enforce_ip_budget(request, IpBudget.CAPTCHA_IMAGE)
        app_id, token = request.query_params.get("appId"), request.query_params.get("token")
        found = selectors.challenge_to_draw(app_id=app_id, token=token) if app_id and token else None
        png = challenge_png(hashkey=found[2], width=found[0], height=found[1]) if found else None
        if png is None:
            raise LeanCloudError(Errors.NOT_FOUND, NOT_FOUND)
        return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})
