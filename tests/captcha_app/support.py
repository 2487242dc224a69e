"""What the captcha tests share: asking for a captcha, and reading its answer as only a test may."""
from datetime import timedelta
from io import BytesIO
from urllib.parse import urlsplit

from captcha.models import CaptchaStore
from django.db.models import F
from PIL import Image

from captcha_app.models import CaptchaChallenge
from smsplatform.tokens import digest

JSON = "application/json;charset=utf-8"


def ask_for_captcha(lc, query: str = ""):
    """GET requestCaptcha as the SDKs send it: query parameters, a JSON Content-Type, no body."""
    return lc.get(f"/1.1/requestCaptcha?{query}", CONTENT_TYPE=JSON)


def request_captcha(lc, query: str = "") -> dict:
    """A new captcha: {captcha_token, captcha_url}."""
    response = ask_for_captcha(lc, query)
    assert response.status_code == 200, response.content
    return response.json()


def challenge_of(token: str) -> CaptchaChallenge:
    return CaptchaChallenge.objects.select_related("store").get(token_hash=digest(token))


def answer_of(token: str) -> str:
    """The text drawn in the image, read from the database."""
    return challenge_of(token).store.challenge


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def png_of(response) -> Image.Image:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "image/png"
    image = Image.open(BytesIO(response.content))
    image.load()
    return image


def solve(lc) -> str:
    """A fresh validate token of lc's app: a captcha asked for and answered right."""
    token = request_captcha(lc)["captcha_token"]
    response = lc.post("/1.1/verifyCaptcha", {"captcha_token": token, "captcha_code": answer_of(token)})
    assert response.status_code == 200, response.content
    return response.json()["validate_token"]


def time_passes(seconds: float) -> None:
    """Every stored captcha date moves `seconds` into the past, as if that much time went by."""
    delta = timedelta(seconds=seconds)
    CaptchaChallenge.objects.update(**{
        field: F(field) - delta
        for field in ("created_at", "expires_at", "answered_at", "validate_token_expires_at", "redeemed_at")
    })
    CaptchaStore.objects.update(expiration=F("expiration") - delta)
