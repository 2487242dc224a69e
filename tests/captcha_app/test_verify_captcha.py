import pytest

from smsplatform.errors import Errors
from tests.support import assert_error

from .support import answer_of, challenge_of, request_captcha, time_passes

pytestmark = pytest.mark.django_db

URL = "/1.1/verifyCaptcha"
WRONG = "Invalid captcha code; request a new captcha."
GONE = "Captcha expired or already answered; request a new one."


def verify(lc, token, code):
    return lc.post(URL, {"captcha_token": token, "captcha_code": code})


def test_the_right_answer_gives_a_validate_token(lc):
    token = request_captcha(lc)["captcha_token"]
    response = verify(lc, token, answer_of(token))
    assert response.status_code == 200
    assert list(response.json()) == ["validate_token"]
    assert len(response.json()["validate_token"]) >= 32


@pytest.mark.parametrize("typed", [str.lower, str.upper, lambda answer: f" {answer.lower()} "])
def test_answers_are_case_insensitive(lc, typed):
    token = request_captcha(lc)["captcha_token"]
    answer = answer_of(token)
    answer = answer[0].lower() + answer[1:].upper()  # mixed case too, before `typed`
    assert verify(lc, token, typed(answer)).status_code == 200


def test_a_wrong_answer_is_an_error_and_kills_the_challenge(lc):
    token = request_captcha(lc)["captcha_token"]
    response = verify(lc, token, "0000")
    assert_error(response, Errors.BAD_REQUEST, WRONG)
    second_try = verify(lc, token, answer_of(token))
    assert_error(second_try, Errors.BAD_REQUEST, GONE)


def test_a_challenge_is_answered_once(lc):
    token = request_captcha(lc)["captcha_token"]
    assert verify(lc, token, answer_of(token)).status_code == 200
    again = verify(lc, token, answer_of(token))
    assert_error(again, Errors.BAD_REQUEST, GONE)


def test_a_challenge_lives_for_its_ttl(lc_master):
    token = request_captcha(lc_master, "ttl=30")["captcha_token"]
    time_passes(29)
    assert verify(lc_master, token, answer_of(token)).status_code == 200


def test_an_expired_challenge_cannot_be_answered(lc):
    token = request_captcha(lc)["captcha_token"]
    time_passes(61)
    response = verify(lc, token, answer_of(token))
    assert_error(response, Errors.BAD_REQUEST, GONE)


def test_an_unknown_token_is_refused(lc):
    assert_error(verify(lc, "not-a-token", "ABCD"), Errors.BAD_REQUEST, GONE)


def test_a_token_is_bound_to_its_app(lc, client_of, app_with):
    token = request_captcha(lc)["captcha_token"]
    stranger = client_of(app_with())
    assert_error(verify(stranger, token, answer_of(token)), Errors.BAD_REQUEST, GONE)
    # and the stranger's attempt did not use up the owner's challenge
    assert verify(lc, token, answer_of(token)).status_code == 200


@pytest.mark.parametrize("body", [{"captcha_code": "ABCD"}, {"captcha_token": "TOKEN"}, {"captcha_token": "TOKEN", "captcha_code": ""}, None])
def test_a_missing_token_or_code_is_an_error_that_spends_nothing(lc, body):
    token = request_captcha(lc)["captcha_token"]
    if body and body.get("captcha_token"):
        body["captcha_token"] = token
    response = lc.post(URL, body)
    assert_error(response, Errors.BAD_REQUEST, "captcha_code and captcha_token are required.")
    assert verify(lc, token, answer_of(token)).status_code == 200


def test_the_outcome_is_recorded_for_the_operators(lc):
    solved, failed, unanswered = (request_captcha(lc)["captcha_token"] for _ in range(3))
    verify(lc, solved, answer_of(solved))
    verify(lc, failed, "nope")
    assert challenge_of(solved).status == "solved"
    assert challenge_of(failed).status == "failed"
    assert challenge_of(unanswered).status == "pending"
    assert challenge_of(solved).answered_at is not None


def test_per_ip_flow_control(lc, settings):
    settings.RATELIMIT_VERIFY_CAPTCHA_PER_IP = "2/m"
    token = request_captcha(lc)["captcha_token"]
    verify(lc, "unknown-1", "ABCD")
    verify(lc, "unknown-2", "ABCD")
    response = verify(lc, token, answer_of(token))
    assert_error(response, Errors.TOO_MANY_REQUESTS)
    # flow control refused before looking: the challenge is still there to answer from elsewhere
    assert lc.post(URL, {"captcha_token": token, "captcha_code": answer_of(token)}, REMOTE_ADDR="10.9.9.9").status_code == 200
