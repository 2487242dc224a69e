"""The app's end-user account options and what each changes."""
import pytest

from accounts.models import App
from smsplatform.errors import Errors
from tests.accounts.support import sign_up, sign_up_by_phone
from tests.support import assert_error, session, unique_phone

# Several messages go to one number in a test: no per-number spacing.
pytestmark = [pytest.mark.django_db, pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)]


def set_options(app, **options):
    for name, value in options.items():
        setattr(app, name, value)
    app.save()


def test_the_defaults_are_leanclouds():
    app = App()
    assert app.verify_phone_on_signup is False
    assert app.login_requires_verified_phone is False
    assert app.reset_password_unverified_allowed is False
    assert app.sms_login_enabled is True


@pytest.mark.app(verify_phone_on_signup=True)
def test_verify_phone_on_sign_up_sends_a_code_that_verifies(lc, app, outbox):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone)
    [message] = outbox.messages(phone)
    assert message["text"].startswith(f"【{app.name}】")
    code = outbox.last_code(phone)
    assert lc.post(f"/1.1/verifyMobilePhone/{code}", raw="null").json()["objectId"] == user["objectId"]
    assert lc.get("/1.1/users/me", **session(user["sessionToken"])).json()["mobilePhoneVerified"] is True


@pytest.mark.app(verify_phone_on_signup=True)
def test_verify_phone_on_sign_up_also_covers_a_change_of_number(lc, outbox):
    user = sign_up(lc, "alice")
    assert outbox.messages() == []
    phone = unique_phone()
    assert lc.put(f"/1.1/users/{user['objectId']}", {"mobilePhoneNumber": phone},
                  **session(user["sessionToken"])).status_code == 200
    assert len(outbox.messages(phone)) == 1


def test_without_the_option_sign_up_sends_nothing(lc, outbox):
    sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    assert outbox.messages() == []


@pytest.mark.app(verify_phone_on_signup=True, force_captcha=True)
def test_a_refused_verification_sms_does_not_undo_the_sign_up(lc, outbox):
    user = sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    assert outbox.messages() == []
    assert lc.get("/1.1/users/me", **session(user["sessionToken"])).status_code == 200


def test_forbidding_login_to_unverified_numbers(lc, app, outbox):
    phone, other = unique_phone(), unique_phone()
    sign_up(lc, "alice", mobilePhoneNumber=phone)
    sign_up_by_phone(lc, outbox, other, password="pw1")
    assert lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "pw1"}).status_code == 200
    set_options(app, login_requires_verified_phone=True)
    refused = lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "pw1"})
    assert_error(refused, Errors.PHONE_NOT_VERIFIED)
    assert lc.post("/1.1/login", {"mobilePhoneNumber": other, "password": "pw1"}).status_code == 200
    # The wrong password is still a wrong password.
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "bad"}), Errors.PASSWORD_MISMATCH)


def test_sms_password_reset_for_unverified_numbers(lc, app, outbox):
    phone = unique_phone()
    sign_up(lc, "alice", mobilePhoneNumber=phone)
    refused = lc.post("/1.1/requestPasswordResetBySmsCode", {"mobilePhoneNumber": phone})
    assert_error(refused, Errors.PHONE_NOT_VERIFIED)
    assert outbox.messages(phone) == []
    set_options(app, reset_password_unverified_allowed=True)
    assert lc.post("/1.1/requestPasswordResetBySmsCode", {"mobilePhoneNumber": phone}).json() == {}
    code = outbox.last_code(phone)
    assert lc.put(f"/1.1/resetPasswordBySmsCode/{code}", {"password": "new"}).json() == {}
    assert lc.post("/1.1/login", {"username": "alice", "password": "new"}).status_code == 200


def test_sms_login_only_for_verified_numbers_and_only_when_enabled(lc, app, outbox):
    unverified, verified = unique_phone(), unique_phone()
    sign_up(lc, "alice", mobilePhoneNumber=unverified)
    sign_up_by_phone(lc, outbox, verified, password="pw1")
    assert_error(lc.post("/1.1/requestLoginSmsCode", {"mobilePhoneNumber": unverified}), Errors.PHONE_NOT_VERIFIED)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": unverified, "smsCode": "123456"}),
                 Errors.PHONE_NOT_VERIFIED)
    assert lc.post("/1.1/requestLoginSmsCode", {"mobilePhoneNumber": verified}).json() == {}
    code = outbox.last_code(verified)
    set_options(app, sms_login_enabled=False)
    for response in (lc.post("/1.1/requestLoginSmsCode", {"mobilePhoneNumber": verified}),
                     lc.post("/1.1/login", {"mobilePhoneNumber": verified, "smsCode": code})):
        assert_error(response, Errors.OPERATION_FORBIDDEN)
    set_options(app, sms_login_enabled=True)
    assert lc.post("/1.1/login", {"mobilePhoneNumber": verified, "smsCode": code}).status_code == 200
