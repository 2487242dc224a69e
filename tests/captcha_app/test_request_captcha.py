from importlib import reload
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import clear_url_caches

from captcha_app.models import CaptchaChallenge
from smsplatform.errors import Errors
from tests.support import LeanCloudClient, assert_error

from .support import JSON, answer_of, ask_for_captcha, challenge_of, png_of, relative, request_captcha

pytestmark = pytest.mark.django_db


def test_answers_a_token_and_an_absolute_image_url_of_the_app(lc, app):
    answer = request_captcha(lc)
    assert set(answer) == {"captcha_token", "captcha_url"}
    url = urlsplit(answer["captcha_url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/1.1/captchaImage")
    assert parse_qs(url.query) == {"appId": [app.app_id], "token": [answer["captcha_token"]]}


def test_tokens_are_long_random_and_never_repeat(lc):
    tokens = {request_captcha(lc)["captcha_token"] for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 32 for token in tokens)


def test_the_image_url_follows_the_host_the_client_used(lc):
    answer = lc.get("/1.1/requestCaptcha", CONTENT_TYPE=JSON, HTTP_HOST="localhost:8000").json()
    assert answer["captcha_url"].startswith("http://localhost:8000/1.1/captchaImage?")


@pytest.fixture
def mounted_under_sms(settings):
    """The API served under a deployment prefix: http://host/sms/1.1/..."""
    import smsplatform.urls

    def remount(prefix):
        settings.API_PREFIX = prefix
        reload(smsplatform.urls)
        clear_url_caches()

    original = settings.API_PREFIX
    remount("sms")
    yield
    remount(original)


def test_the_image_url_carries_the_deployment_prefix(lc, mounted_under_sms):
    response = lc.get("/sms/1.1/requestCaptcha", CONTENT_TYPE=JSON)
    url = response.json()["captcha_url"]
    assert urlsplit(url).path == "/sms/1.1/captchaImage"
    assert png_of(LeanCloudClient().get(relative(url))).size == (85, 30)


def test_defaults_are_85_by_30_four_characters_for_60_seconds(lc):
    token = request_captcha(lc)["captcha_token"]
    challenge = challenge_of(token)
    assert (challenge.width, challenge.height) == (85, 30)
    assert len(answer_of(token)) == 4
    assert (challenge.expires_at - challenge.created_at).total_seconds() == 60


def test_width_and_height_are_the_clients_to_choose(lc):
    challenge = challenge_of(request_captcha(lc, "width=200&height=100")["captcha_token"])
    assert (challenge.width, challenge.height) == (200, 100)


def test_the_master_key_chooses_size_and_ttl(lc_master):
    token = request_captcha(lc_master, "size=6&ttl=180")["captcha_token"]
    challenge = challenge_of(token)
    assert len(answer_of(token)) == 6
    assert (challenge.expires_at - challenge.created_at).total_seconds() == 180
    assert len(answer_of(request_captcha(lc_master, "size=3&ttl=10")["captcha_token"])) == 3


@pytest.mark.parametrize("name", ["size", "ttl"])
def test_size_and_ttl_need_the_master_key(lc, name):
    assert_error(ask_for_captcha(lc, f"{name}=4"),
                 Errors.OPERATION_FORBIDDEN, f"{name} can only be set with the master key.")
    assert not CaptchaChallenge.objects.exists()


@pytest.mark.parametrize("query, name, bounds", [
    ("width=59", "width", "60 to 200"),
    ("width=201", "width", "60 to 200"),
    ("width=abc", "width", "60 to 200"),
    ("width=85.5", "width", "60 to 200"),
    ("width=-85", "width", "60 to 200"),
    ("width=null", "width", "60 to 200"),
    ("height=29", "height", "30 to 100"),
    ("height=101", "height", "30 to 100"),
    ("size=2", "size", "3 to 6"),
    ("size=7", "size", "3 to 6"),
    ("ttl=9", "ttl", "10 to 180"),
    ("ttl=181", "ttl", "10 to 180"),
    ("ttl=1e2", "ttl", "10 to 180"),
])
def test_out_of_range_or_non_numbers_are_refused(lc_master, query, name, bounds):
    assert_error(ask_for_captcha(lc_master, query), Errors.BAD_REQUEST, f"{name} must be a whole number from {bounds}.")
    assert not CaptchaChallenge.objects.exists()


def test_range_ends_are_accepted(lc_master):
    for query in ("width=60&height=30&size=3&ttl=10", "width=200&height=100&size=6&ttl=180"):
        request_captcha(lc_master, query)


def test_the_js_sdk_form_with_a_bare_question_mark(lc):
    """AV.Captcha.request() with no options: `GET /1.1/requestCaptcha?`, JSON Content-Type."""
    response = lc.get("/1.1/requestCaptcha?", CONTENT_TYPE=JSON)
    assert response.status_code == 200
    assert challenge_of(response.json()["captcha_token"]).width == 85


@pytest.mark.app(captcha_enabled=False)
def test_switched_off_the_captcha_calls_answer_119(lc):
    assert_error(ask_for_captcha(lc), Errors.OPERATION_FORBIDDEN)
    response = lc.post("/1.1/verifyCaptcha", {"captcha_token": "x" * 32, "captcha_code": "ABCD"})
    assert_error(response, Errors.OPERATION_FORBIDDEN)
    assert not CaptchaChallenge.objects.exists()


def test_needs_the_app_keys(db):
    response = LeanCloudClient().get("/1.1/requestCaptcha")
    assert_error(response, Errors.UNAUTHORIZED)


def test_per_ip_flow_control(lc, settings):
    settings.RATELIMIT_CAPTCHA_PER_IP = "3/m"
    for _ in range(3):
        request_captcha(lc)
    assert_error(ask_for_captcha(lc), Errors.TOO_MANY_REQUESTS)
    other_ip = lc.get("/1.1/requestCaptcha", REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 200
    assert CaptchaChallenge.objects.count() == 4

