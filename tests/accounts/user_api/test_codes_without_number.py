"""Codes redeemed without their number (the JS SDK's verifyMobilePhone and resetPasswordBySmsCode):
each guess could be any user's code, so guesses have a per-IP budget of their own, failed ones a
per-app budget past which the path closes, and a logged-in caller's guess is checked against its
own number only."""
import itertools

import pytest

from accounts.models import EndUser
from sms.models import Purpose
from smsplatform.errors import Errors
from tests.factories import EndUserFactory, VerificationCodeFactory
from tests.support import assert_error, session, unique_phone

pytestmark = pytest.mark.django_db

_addresses = (f"10.13.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def another_ip() -> dict:
    return {"REMOTE_ADDR": next(_addresses)}


# (the call, the purpose of the code it takes)
CALLS = {
    "verifyMobilePhone": (lambda lc, code, **headers: lc.post(f"/1.1/verifyMobilePhone/{code}", raw="null", **headers),
                          Purpose.VERIFY_PHONE),
    "resetPasswordBySmsCode": (lambda lc, code, **headers: lc.put(f"/1.1/resetPasswordBySmsCode/{code}",
                                                                  {"password": "new-pw"}, **headers),
                               Purpose.RESET_PASSWORD),
}


@pytest.fixture(params=sorted(CALLS))
def call(request):
    return CALLS[request.param]


def user_with_code(app, purpose, code="424242", **fields):
    """A user whose number has a live code of `purpose` with these digits (reset needs it verified)."""
    user = EndUserFactory(app=app, verified=True, **fields)
    VerificationCodeFactory(app=app, phone=user.mobile_phone_number, purpose=purpose, code=code)
    return user


def test_guesses_without_a_number_have_a_per_ip_budget_far_below_the_sms_one(lc, settings, call):
    send, _ = call
    assert settings.RATELIMIT_CODE_WITHOUT_NUMBER_PER_IP == "5/m"
    assert int(settings.RATELIMIT_SMS_PER_IP.split("/")[0]) > 5
    for guess in range(5):
        assert_error(send(lc, f"{100000 + guess}"), Errors.INVALID_SMS_CODE)
    assert_error(send(lc, "100009"), Errors.TOO_MANY_REQUESTS)
    # Another client is not concerned, and the SMS budget of this one is untouched.
    assert_error(send(lc, "100010", **another_ip()), Errors.INVALID_SMS_CODE)
    assert lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone()}).status_code == 200


def test_failed_guesses_per_app_close_the_path_even_to_the_right_code(lc, app, settings, call, client_of, app_with):
    send, purpose = call
    settings.CODE_WITHOUT_NUMBER_FAILURES_PER_APP = "4/h"
    alice = user_with_code(app, purpose, code="424242")
    for guess in range(4):  # from four clients: the per-IP budget is not what stops them
        assert_error(send(lc, f"{100000 + guess}", **another_ip()), Errors.INVALID_SMS_CODE)
    assert_error(send(lc, "424242", **another_ip()), Errors.TOO_MANY_REQUESTS)
    assert EndUser.objects.get(pk=alice.pk).password == alice.password
    # With the number (the Python SDK), or with the user's own session, the code still works...
    if purpose == Purpose.VERIFY_PHONE:
        alice.mobile_phone_verified = False
        alice.save()
        response = lc.post("/1.1/verifyMobilePhone/424242", {"mobilePhoneNumber": alice.mobile_phone_number})
    else:
        response = lc.put("/1.1/resetPasswordBySmsCode/424242",
                          {"password": "new-pw", "mobilePhoneNumber": alice.mobile_phone_number})
    assert response.status_code == 200, response.content
    # ...and another app's path is open.
    other = app_with()
    bob = user_with_code(other, purpose, code="515151")
    assert send(client_of(other), "515151").status_code == 200
    assert EndUser.objects.get(pk=bob.pk).mobile_phone_verified


def test_the_default_failure_budget_per_app_is_small(settings):
    count, _, unit = settings.CODE_WITHOUT_NUMBER_FAILURES_PER_APP.partition("/")
    assert unit == "h" and 0 < int(count) <= 50


def test_a_right_guess_does_not_spend_the_apps_failure_budget(lc, app, settings, call):
    send, purpose = call
    settings.CODE_WITHOUT_NUMBER_FAILURES_PER_APP = "1/h"
    user_with_code(app, purpose, code="424242")
    user_with_code(app, purpose, code="434343")
    assert send(lc, "424242", **another_ip()).status_code == 200
    assert send(lc, "434343", **another_ip()).status_code == 200


def test_a_logged_in_callers_guess_is_checked_against_its_own_code_only(lc, app, call):
    send, purpose = call
    alice = user_with_code(app, purpose, code="424242")
    bob = user_with_code(app, purpose, code="515151")
    bobs = session(session_of(bob))
    # Bob has a live code of his own: Alice's digits are checked against Bob's code, and miss.
    assert_error(send(lc, "424242", **bobs), Errors.INVALID_SMS_CODE)
    assert EndUser.objects.get(pk=alice.pk).password == alice.password
    # It still works for Alice, who is not logged in on this device, and Bob's own code for Bob.
    assert send(lc, "424242", **another_ip()).status_code == 200
    assert send(lc, "515151", **bobs, **another_ip()).status_code == 200


def test_a_logged_in_caller_without_a_code_of_its_own_is_told_the_number_by_the_code(lc, app, call):
    """The JS SDK sends its current user's session with every call: a reset code for another number
    (a second account on the device) is found by its digits."""
    send, purpose = call
    alice = user_with_code(app, purpose, code="424242")
    bob = EndUserFactory(app=app, verified=True)
    assert send(lc, "424242", **session(session_of(bob))).status_code == 200
    assert EndUser.objects.get(pk=alice.pk).password != alice.password or purpose == Purpose.VERIFY_PHONE


def test_a_logged_in_callers_guesses_do_not_spend_the_apps_failure_budget(lc, app, settings, call):
    send, purpose = call
    settings.CODE_WITHOUT_NUMBER_FAILURES_PER_APP = "2/h"
    bob = user_with_code(app, purpose, code="424242")
    bobs = session(session_of(bob))
    for guess in range(3):
        assert_error(send(lc, f"{100000 + guess}", **bobs, **another_ip()), Errors.INVALID_SMS_CODE)
    assert send(lc, "424242", **bobs, **another_ip()).status_code == 200


def session_of(user) -> str:
    from tests.factories import SessionFactory

    token = "s" * 20 + f"{user.pk:05d}"
    SessionFactory(user=user, token=token)
    return token
