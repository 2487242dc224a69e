"""Against real server processes: racing requests, and the official Python SDK, unchanged."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import pytest
import requests
from PIL import Image

from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.live import run_sdk_script, wait_until
from tests.support import assert_error, error_body, sign_header, unique_phone

from .support import answer_of

pytestmark = pytest.mark.live

CALLS = 20


def headers(app):
    return {"X-LC-Id": app.app_id, "X-LC-Sign": sign_header(app.app_key), "Content-Type": "application/json;charset=utf-8"}


def race(call):
    barrier = threading.Barrier(CALLS)

    def one(n):
        barrier.wait()
        return call(n)

    with ThreadPoolExecutor(CALLS) as pool:
        return list(pool.map(one, range(CALLS)))


def new_captcha(stack, app):
    response = requests.get(stack.api("requestCaptcha"), headers=headers(app), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# The app forces captcha: every SMS needs a validate token.
forced = pytest.mark.app(force_captcha=True)


def test_racing_right_answers_get_one_validate_token(live_stack, live_app):
    token = new_captcha(live_stack, live_app)["captcha_token"]
    body = {"captcha_token": token, "captcha_code": answer_of(token)}
    responses = race(lambda n: requests.post(live_stack.api("verifyCaptcha"), json=body, headers=headers(live_app), timeout=60))
    assert Counter(r.status_code for r in responses) == {200: 1, 400: CALLS - 1}
    for refused in (r for r in responses if r.status_code != 200):
        assert_error(refused, Errors.BAD_REQUEST, "Captcha expired or already answered; request a new one.")


@forced
def test_racing_requests_with_one_validate_token_send_one_sms(live_stack, live_app):
    token = new_captcha(live_stack, live_app)["captcha_token"]
    verified = requests.post(
        live_stack.api("verifyCaptcha"), json={"captcha_token": token, "captcha_code": answer_of(token)},
        headers=headers(live_app), timeout=30,
    )
    validate_token = verified.json()["validate_token"]
    phones = [unique_phone() for _ in range(CALLS)]
    responses = race(lambda n: requests.post(
        live_stack.api("requestSmsCode"), json={"mobilePhoneNumber": phones[n], "validate_token": validate_token},
        headers=headers(live_app), timeout=60,
    ))
    assert Counter(r.status_code for r in responses) == {200: 1, 400: CALLS - 1}
    for refused in (r for r in responses if r.status_code != 200):
        assert_error(refused, Errors.MISSING_VALIDATE_TOKEN)
    [winner] = [phones[n] for n, r in enumerate(responses) if r.status_code == 200]
    wait_until(lambda: Message.objects.filter(phone=winner, status=MessageStatus.DELIVERED).exists(), what="the SMS")
    assert Message.objects.filter(phone__in=phones).count() == 1
    assert len(live_stack.outbox.wait_for(winner, 1)) == 1


def image_size(url):
    response = requests.get(url, timeout=30)  # as an <img> would: no keys
    assert (response.status_code, response.headers["Content-Type"]) == (200, "image/png")
    return Image.open(BytesIO(response.content)).size


@forced
def test_the_python_sdk_solves_a_captcha_and_unlocks_one_sms(live_stack, live_app):
    asked = run_sdk_script("sdk_python_captcha.py", stack=live_stack, app=live_app, STEP="request")
    assert asked["client_size"] == error_body(Errors.OPERATION_FORBIDDEN, "size can only be set with the master key.")
    assert asked["bad_width"] == error_body(Errors.BAD_REQUEST, "width must be a whole number from 60 to 200.")
    assert asked["client"]["url"].startswith(f"{live_stack.url}/1.1/captchaImage?appId={live_app.app_id}&token=")
    assert image_size(asked["client"]["url"]) == (120, 40)
    assert image_size(asked["master"]["url"]) == (200, 100)
    assert len(answer_of(asked["master"]["token"])) == 6

    phone, other_phone = unique_phone(), unique_phone()
    solved = run_sdk_script(
        "sdk_python_captcha.py", stack=live_stack, app=live_app, STEP="solve", TOKEN=asked["client"]["token"], URL=asked["client"]["url"],
        CODE=answer_of(asked["client"]["token"]).lower(), WRONG_TOKEN=asked["wrong"]["token"],
        PHONE=phone, OTHER_PHONE=other_phone,
    )
    assert solved["wrong_answer"] == error_body(Errors.BAD_REQUEST, "Invalid captcha code; request a new captcha.")
    assert solved["validate_token"]
    assert solved["without_token"] == error_body(Errors.MISSING_VALIDATE_TOKEN)
    assert solved["reuse"] == error_body(Errors.MISSING_VALIDATE_TOKEN)
    assert len(live_stack.outbox.wait_for(phone, 1)) == 1
    assert live_stack.outbox.messages(other_phone) == []
