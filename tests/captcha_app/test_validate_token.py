"""The validate token on requestSmsCode (and so on every SMS-sending call, which share its service)."""
import pytest

from sms.models import Message
from smsplatform.errors import Errors
from tests.support import assert_error, unique_phone

from .support import solve, time_passes

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"

# The app forces captcha: every SMS needs a validate token.
forced = pytest.mark.app(force_captcha=True)


def send(lc, phone, validate_token=None):
    body = {"mobilePhoneNumber": phone}
    if validate_token is not None:
        body["validate_token"] = validate_token
    return lc.post(URL, body)


@forced
def test_forced_without_a_token_is_608_sends_nothing_and_counts_no_limit(lc, outbox):
    phone = unique_phone()
    response = send(lc, phone)
    assert_error(response, Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages() == []
    assert not Message.objects.exists()
    # Had the refused request counted against the number, this one would be "too fast" (1 per 10 s).
    assert send(lc, phone, solve(lc)).status_code == 200
    assert len(outbox.messages(phone)) == 1


@forced
@pytest.mark.parametrize("bad", ["", "not-a-token", "x" * 500])
def test_forced_with_a_bad_token_is_608_and_counts_no_limit(lc, outbox, bad):
    phone = unique_phone()
    assert_error(send(lc, phone, bad), Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages() == []
    assert send(lc, phone, solve(lc)).status_code == 200


@forced
def test_forced_accepts_one_valid_token_once(lc, outbox):
    token = solve(lc)
    first, second = unique_phone(), unique_phone()
    assert send(lc, first, token).status_code == 200
    assert len(outbox.messages(first)) == 1
    reuse = send(lc, second, token)
    assert_error(reuse, Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages(second) == []


@forced
def test_the_sent_code_verifies_as_usual(lc, outbox):
    phone = unique_phone()
    send(lc, phone, solve(lc))
    response = lc.post(f"/1.1/verifySmsCode/{outbox.last_code(phone)}", {"mobilePhoneNumber": phone})
    assert response.status_code == 200


@forced
def test_a_token_expires_after_five_minutes(lc, outbox):
    token = solve(lc)
    time_passes(5 * 60 + 1)
    assert_error(send(lc, unique_phone(), token), Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages() == []


@forced
def test_a_token_is_still_good_just_before_five_minutes(lc, outbox):
    token = solve(lc)
    time_passes(5 * 60 - 5)
    assert send(lc, unique_phone(), token).status_code == 200


@forced
def test_a_token_is_bound_to_its_app(lc, outbox, client_of, app_with):
    other = client_of(app_with(force_captcha=True))
    token = solve(lc)
    assert_error(send(other, unique_phone(), token), Errors.MISSING_VALIDATE_TOKEN)
    assert send(lc, unique_phone(), token).status_code == 200


def test_not_forced_a_valid_token_is_accepted_and_spent(lc, app, outbox):
    token = solve(lc)
    assert send(lc, unique_phone(), token).status_code == 200
    app.force_captcha = True
    app.save()
    assert_error(send(lc, unique_phone(), token), Errors.MISSING_VALIDATE_TOKEN)


def test_not_forced_a_bad_token_is_ignored(lc, outbox):
    phone = unique_phone()
    assert send(lc, phone, "not-a-token").status_code == 200
    assert len(outbox.messages(phone)) == 1


@forced
def test_a_request_refused_for_its_number_keeps_its_token(lc, outbox):
    token = solve(lc)
    assert_error(send(lc, "12345", token), Errors.INVALID_PHONE)
    assert_error(send(lc, "+14155552671", token), Errors.BAD_REQUEST,
                 "International SMS is disabled, please enable it in console.")
    assert send(lc, unique_phone(), token).status_code == 200


@forced
def test_a_request_refused_by_a_per_number_limit_keeps_its_token(lc, outbox):
    phone = unique_phone()
    assert send(lc, phone, solve(lc)).status_code == 200
    token = solve(lc)
    too_fast = send(lc, phone, token)
    assert_error(too_fast, Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")
    assert send(lc, unique_phone(), token).status_code == 200


@forced
@pytest.mark.app(test_phone_number="+8618600009999")
def test_the_test_number_spends_the_token_too(lc, outbox):
    token = solve(lc)
    assert send(lc, "+8618600009999", token).status_code == 200
    assert_error(send(lc, unique_phone(), token), Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages() == []


@forced
def test_voice_codes_need_the_token_too(lc, outbox):
    phone = unique_phone()
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"}), Errors.MISSING_VALIDATE_TOKEN)
    response = lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice", "validate_token": solve(lc)})
    assert response.status_code == 200
    assert outbox.messages(phone)[0]["channel"] == "voice"
