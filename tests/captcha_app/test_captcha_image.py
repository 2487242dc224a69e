from urllib.parse import urlencode

import pytest

from smsplatform.errors import Errors
from tests.support import LeanCloudClient, assert_error

from .support import answer_of, png_of, relative, request_captcha, time_passes

pytestmark = pytest.mark.django_db

NOT_FOUND = "Captcha not found, expired or already answered."


@pytest.fixture
def browser():
    """What an <img> tag is: no app keys at all."""
    return LeanCloudClient()


def assert_not_found(response):
    assert_error(response, Errors.NOT_FOUND, NOT_FOUND)


@pytest.mark.parametrize("query, size", [
    ("", (85, 30)),
    ("width=60&height=30", (60, 30)),
    ("width=200&height=100", (200, 100)),
    ("width=133&height=47", (133, 47)),
    ("width=60&height=100&size=6", (60, 100)),
    ("width=200&height=30&size=3", (200, 30)),
])
def test_the_image_is_a_png_of_exactly_the_requested_size(lc_master, browser, query, size):
    url = request_captcha(lc_master, query)["captcha_url"]
    image = png_of(browser.get(relative(url)))
    assert image.format == "PNG"
    assert image.size == size


def test_the_image_needs_no_keys_and_is_not_cached(lc, browser):
    response = browser.get(relative(request_captcha(lc)["captcha_url"]))
    png_of(response)
    assert response["Cache-Control"] == "no-store"


def test_every_fetch_shows_the_same_image(lc, browser):
    url = relative(request_captcha(lc)["captcha_url"])
    assert browser.get(url).content == browser.get(url).content


def test_an_img_tag_accept_header_gets_the_image_and_json_errors(lc, browser):
    url = relative(request_captcha(lc)["captcha_url"])
    accept = "image/avif,image/webp,image/png,image/*;q=0.8"
    png_of(browser.get(url, HTTP_ACCEPT=accept))
    assert_not_found(browser.get(url + "x", HTTP_ACCEPT=accept))


def test_no_image_after_the_challenge_expired(lc, browser):
    url = relative(request_captcha(lc)["captcha_url"])
    time_passes(61)
    assert_not_found(browser.get(url))


@pytest.mark.parametrize("right", [True, False])
def test_no_image_after_the_challenge_was_answered(lc, browser, right):
    answer = request_captcha(lc)
    token = answer["captcha_token"]
    lc.post("/1.1/verifyCaptcha", {"captcha_token": token, "captcha_code": answer_of(token) if right else "nope"})
    assert_not_found(browser.get(relative(answer["captcha_url"])))


def test_the_token_is_bound_to_its_app(lc, browser, app_with):
    token = request_captcha(lc)["captcha_token"]
    other = app_with()
    assert_not_found(browser.get("/1.1/captchaImage?" + urlencode({"appId": other.app_id, "token": token})))


@pytest.mark.parametrize("query", ["", "appId=x", "token=x", "appId=x&token=y"])
def test_missing_or_unknown_tokens_are_not_found(db, browser, query):
    assert_not_found(browser.get(f"/1.1/captchaImage?{query}"))


def test_per_ip_flow_control(lc, browser, settings):
    settings.RATELIMIT_CAPTCHA_IMAGE_PER_IP = "2/m"
    url = relative(request_captcha(lc)["captcha_url"])
    png_of(browser.get(url))
    png_of(browser.get(url))
    response = browser.get(url)
    assert_error(response, Errors.TOO_MANY_REQUESTS)
