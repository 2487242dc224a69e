"""The user API's SMS flows: phone sign-up-or-login, verification, SMS login, reset, change of number."""
import pytest

from accounts.models import EndUser, Session
from sms.models import Message, MessageStatus, Purpose, VerificationCode
from smsplatform.errors import Errors
from tests.accounts.support import code_for, me, sign_up, sign_up_by_phone
from tests.factories import VerificationCodeFactory
from tests.support import assert_error, session, unique_phone

# Several messages go to one number in a test: no per-number spacing.
pytestmark = [pytest.mark.django_db, pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)]


def live_code_row(phone, purpose):
    return VerificationCode.objects.get(phone=phone, purpose=purpose)


# --- usersByMobilePhone ------------------------------------------------------------------------------

def test_phone_sign_up_makes_a_verified_user_named_after_the_number(lc, outbox):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone, written=phone.removeprefix("+86"), nickname="Al")
    assert user["mobilePhoneNumber"] == phone and user["username"] == phone
    assert user["mobilePhoneVerified"] is True and user["nickname"] == "Al"
    assert len(user["sessionToken"]) == 25 and "smsCode" not in user and "password" not in user
    assert me(lc, user["sessionToken"])["objectId"] == user["objectId"]
    # No password was given: none logs in.
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": ""}), Errors.PASSWORD_MISSING)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "anything"}), Errors.PASSWORD_MISMATCH)


def test_password_and_username_count_on_sign_up(lc, outbox):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone, username="alice", password="pw1")
    assert user["username"] == "alice"
    assert lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).json()["objectId"] == user["objectId"]


def test_an_existing_number_logs_in_and_password_username_and_fields_are_ignored(lc, outbox):
    phone = unique_phone()
    first = sign_up_by_phone(lc, outbox, phone, password="pw1")
    again = sign_up_by_phone(lc, outbox, phone, username="mallory", password="pw2", nickname="x")
    assert again["objectId"] == first["objectId"] and again["username"] == phone
    assert again["sessionToken"] != first["sessionToken"] and "nickname" not in again
    assert lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "pw1"}).status_code == 200
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "pw2"}), Errors.PASSWORD_MISMATCH)
    assert EndUser.objects.count() == 1


def test_a_code_to_an_unverified_number_takes_the_account_back_from_whoever_set_it_up(lc, outbox):
    """Pre-hijacking: Mallory signs up with Alice's number, unverified, and a password of hers. Alice's
    first SMS sign-in proves the number: it is verified, Mallory's session ends and her password no
    longer logs in."""
    phone = unique_phone()
    mallory = sign_up(lc, "mallory", "mallorys-pw", mobilePhoneNumber=phone)
    alice = sign_up_by_phone(lc, outbox, phone)
    assert alice["objectId"] == mallory["objectId"] and alice["mobilePhoneVerified"] is True
    assert_error(lc.get("/1.1/users/me", **session(mallory["sessionToken"])), Errors.USER_NOT_FOUND)
    for credentials in ({"username": "mallory"}, {"mobilePhoneNumber": phone}):
        assert_error(lc.post("/1.1/login", {**credentials, "password": "mallorys-pw"}), Errors.PASSWORD_MISMATCH)
    assert me(lc, alice["sessionToken"])["mobilePhoneVerified"] is True
    assert Session.objects.filter(user__object_id=alice["objectId"]).count() == 1


def test_a_code_to_a_verified_number_keeps_the_password_and_the_other_sessions(lc, outbox):
    phone = unique_phone()
    first = sign_up_by_phone(lc, outbox, phone, password="pw1")
    again = sign_up_by_phone(lc, outbox, phone)
    assert me(lc, first["sessionToken"])["objectId"] == again["objectId"]
    assert lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "pw1"}).status_code == 200


def test_a_login_code_also_signs_in_by_phone(lc, outbox):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone)
    code = code_for(lc, outbox, phone, "/1.1/requestLoginSmsCode")
    response = lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": code})
    assert response.json()["objectId"] == user["objectId"]


@pytest.mark.parametrize("body, error", [
    ({"smsCode": "123456"}, Errors.PHONE_MISSING),
    ({"mobilePhoneNumber": "123", "smsCode": "123456"}, Errors.INVALID_PHONE),
    ({"mobilePhoneNumber": "+8618612345678"}, Errors.INVALID_SMS_CODE),
    ({"mobilePhoneNumber": "+8618612345678", "smsCode": "123456"}, Errors.INVALID_SMS_CODE),
], ids=["no-number", "bad-number", "no-code", "unknown-code"])
def test_phone_sign_up_errors(lc, body, error):
    assert_error(lc.post("/1.1/usersByMobilePhone", body), error)
    assert not EndUser.objects.exists()


def test_a_code_signs_up_once(lc, outbox):
    phone = unique_phone()
    code = code_for(lc, outbox, phone)
    assert lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": code}).status_code == 200
    again = lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": code})
    assert_error(again, Errors.INVALID_SMS_CODE)
    assert Message.objects.get(phone=phone).status == MessageStatus.VERIFIED


def test_a_code_for_another_purpose_does_not_sign_up(lc, outbox, app):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone)
    reset = code_for(lc, outbox, phone, "/1.1/requestPasswordResetBySmsCode")
    response = lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": reset})
    assert_error(response, Errors.INVALID_SMS_CODE)
    # ...and it still resets the password.
    assert lc.put(f"/1.1/resetPasswordBySmsCode/{reset}", {"password": "new", "mobilePhoneNumber": phone}).json() == {}
    assert lc.post("/1.1/login", {"username": user["username"], "password": "new"}).status_code == 200


# --- requestMobilePhoneVerify / verifyMobilePhone ------------------------------------------------------

def test_verify_a_number_with_it_in_the_body(lc, outbox):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone)
    code = code_for(lc, outbox, phone, "/1.1/requestMobilePhoneVerify")
    response = lc.post(f"/1.1/verifyMobilePhone/{code}", {"mobilePhoneNumber": phone})
    assert response.status_code == 200
    assert set(response.json()) == {"objectId", "updatedAt"} and response.json()["objectId"] == user["objectId"]
    shown = me(lc, user["sessionToken"])
    assert shown["mobilePhoneVerified"] is True and shown["updatedAt"] == response.json()["updatedAt"]
    assert_error(lc.post(f"/1.1/verifyMobilePhone/{code}", {"mobilePhoneNumber": phone}), Errors.INVALID_SMS_CODE)


def test_verify_a_number_from_its_code_alone_with_a_null_body_and_a_foreign_session(lc, outbox):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone)
    someone_else = sign_up(lc, "bob", mobilePhoneNumber=unique_phone())
    code = code_for(lc, outbox, phone, "/1.1/requestMobilePhoneVerify")
    response = lc.post(f"/1.1/verifyMobilePhone/{code}", raw="null", **session(someone_else["sessionToken"]))
    assert response.status_code == 200 and response.json()["objectId"] == user["objectId"]
    assert me(lc, user["sessionToken"])["mobilePhoneVerified"] is True
    assert me(lc, someone_else["sessionToken"])["mobilePhoneVerified"] is False


def test_digits_that_two_numbers_received_need_the_session_to_tell_them_apart(lc, app):
    alice = sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    bob = sign_up(lc, "bob", mobilePhoneNumber=unique_phone())
    for user in (alice, bob):
        VerificationCodeFactory(app=app, phone=me(lc, user["sessionToken"])["mobilePhoneNumber"],
                                purpose=Purpose.VERIFY_PHONE, code="424242")
    assert_error(lc.post("/1.1/verifyMobilePhone/424242", raw="null"), Errors.INVALID_SMS_CODE)
    response = lc.post("/1.1/verifyMobilePhone/424242", raw="null", **session(bob["sessionToken"]))
    assert response.json()["objectId"] == bob["objectId"]
    assert me(lc, bob["sessionToken"])["mobilePhoneVerified"] is True
    assert me(lc, alice["sessionToken"])["mobilePhoneVerified"] is False
    # Now only Alice's code has these digits.
    assert lc.post("/1.1/verifyMobilePhone/424242", raw="null").json()["objectId"] == alice["objectId"]


def test_wrong_guesses_without_the_number_count_against_the_session_users_code(lc, app):
    alice = sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    phone = me(lc, alice["sessionToken"])["mobilePhoneNumber"]
    VerificationCodeFactory(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, code="424242")
    for _ in range(VerificationCode.MAX_WRONG_GUESSES):
        assert_error(lc.post("/1.1/verifyMobilePhone/111111", raw="null", **session(alice["sessionToken"])),
                     Errors.INVALID_SMS_CODE)
    # From another client (this one has spent its budget of calls without a number): the code is dead.
    assert_error(lc.post("/1.1/verifyMobilePhone/424242", raw="null", **session(alice["sessionToken"]),
                         REMOTE_ADDR="10.1.2.3"), Errors.INVALID_SMS_CODE)


def test_a_code_for_another_purpose_does_not_verify(lc, outbox):
    phone = unique_phone()
    sign_up(lc, "alice", mobilePhoneNumber=phone)
    code = code_for(lc, outbox, phone)  # requestSmsCode
    assert_error(lc.post(f"/1.1/verifyMobilePhone/{code}", {"mobilePhoneNumber": phone}), Errors.INVALID_SMS_CODE)
    assert_error(lc.post(f"/1.1/verifyMobilePhone/{code}", raw="null"), Errors.INVALID_SMS_CODE)


def test_request_verification_of_an_unknown_number_is_213(lc, outbox):
    assert_error(lc.post("/1.1/requestMobilePhoneVerify", {"mobilePhoneNumber": unique_phone()}),
                 Errors.PHONE_USER_NOT_FOUND)
    assert_error(lc.post("/1.1/requestMobilePhoneVerify", {}), Errors.PHONE_MISSING)
    assert_error(lc.post("/1.1/requestMobilePhoneVerify", {"mobilePhoneNumber": "1"}), Errors.INVALID_PHONE)
    assert outbox.messages() == []


def test_nothing_is_sent_to_a_verified_number(lc, outbox):
    phone = unique_phone()
    sign_up_by_phone(lc, outbox, phone)
    sent = len(outbox.messages(phone))
    response = lc.post("/1.1/requestMobilePhoneVerify", {"mobilePhoneNumber": phone})
    assert response.status_code == 200 and response.json() == {}
    assert len(outbox.messages(phone)) == sent


def test_verifying_an_unknown_users_number_is_213(lc):
    assert_error(lc.post("/1.1/verifyMobilePhone/123456", {"mobilePhoneNumber": unique_phone()}),
                 Errors.PHONE_USER_NOT_FOUND)


# --- SMS login ----------------------------------------------------------------------------------------

def test_log_in_with_a_login_code(lc, outbox):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone)
    code = code_for(lc, outbox, phone, "/1.1/requestLoginSmsCode", **session("stale" * 5))
    response = lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": code}, **session("stale" * 5))
    assert response.status_code == 200
    assert response.json()["objectId"] == user["objectId"] and response.json()["sessionToken"] != user["sessionToken"]
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": code}), Errors.INVALID_SMS_CODE)


def test_sms_login_errors(lc, outbox):
    phone = unique_phone()
    assert_error(lc.post("/1.1/requestLoginSmsCode", {"mobilePhoneNumber": phone}), Errors.PHONE_USER_NOT_FOUND)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": "123456"}), Errors.PHONE_USER_NOT_FOUND)
    assert_error(lc.post("/1.1/login", {"smsCode": "123456"}), Errors.PHONE_MISSING)
    sign_up_by_phone(lc, outbox, phone)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": "000000"}), Errors.INVALID_SMS_CODE)
    other_code = code_for(lc, outbox, phone)  # a requestSmsCode code is no login code
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": other_code}), Errors.INVALID_SMS_CODE)


def test_wrong_sms_codes_count_towards_the_login_lockout(lc, outbox):
    phone = unique_phone()
    sign_up_by_phone(lc, outbox, phone)
    for _ in range(7):
        assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": "000000"}), Errors.INVALID_SMS_CODE)
    code = code_for(lc, outbox, phone, "/1.1/requestLoginSmsCode")
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": code}), Errors.LOGIN_LOCKED)


# --- password reset -------------------------------------------------------------------------------------

def reset_code(lc, outbox, phone):
    return code_for(lc, outbox, phone, "/1.1/requestPasswordResetBySmsCode")


@pytest.mark.parametrize("with_number", [True, False], ids=["python-form", "js-form"])
def test_reset_a_password_by_sms_and_every_session_ends(lc, outbox, with_number):
    phone = unique_phone()
    user = sign_up_by_phone(lc, outbox, phone, password="old")
    other = lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "old"}).json()["sessionToken"]
    code = reset_code(lc, outbox, phone)
    body = {"password": "new", **({"mobilePhoneNumber": phone} if with_number else {})}
    response = lc.put(f"/1.1/resetPasswordBySmsCode/{code}", body, **session(user["sessionToken"]))
    assert response.status_code == 200 and response.json() == {}
    for token in (user["sessionToken"], other):
        assert_error(lc.get("/1.1/users/me", **session(token)), Errors.USER_NOT_FOUND)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "old"}), Errors.PASSWORD_MISMATCH)
    assert lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "new"}).status_code == 200
    assert_error(lc.put(f"/1.1/resetPasswordBySmsCode/{code}", body), Errors.INVALID_SMS_CODE)


def test_reset_errors(lc, outbox):
    phone = unique_phone()
    assert_error(lc.post("/1.1/requestPasswordResetBySmsCode", {"mobilePhoneNumber": phone}),
                 Errors.PHONE_USER_NOT_FOUND)
    sign_up_by_phone(lc, outbox, phone)
    code = reset_code(lc, outbox, phone)
    assert_error(lc.put(f"/1.1/resetPasswordBySmsCode/{code}", {"mobilePhoneNumber": phone}), Errors.PASSWORD_MISSING)
    assert_error(lc.put("/1.1/resetPasswordBySmsCode/000000", {"password": "x", "mobilePhoneNumber": phone}),
                 Errors.INVALID_SMS_CODE)
    assert_error(lc.put("/1.1/resetPasswordBySmsCode/000000", {"password": "x"}), Errors.INVALID_SMS_CODE)
    login = code_for(lc, outbox, phone, "/1.1/requestLoginSmsCode")
    assert_error(lc.put(f"/1.1/resetPasswordBySmsCode/{login}", {"password": "x"}), Errors.INVALID_SMS_CODE)
    assert_error(lc.put(f"/1.1/resetPasswordBySmsCode/{login}", {"password": "x", "mobilePhoneNumber": phone}),
                 Errors.INVALID_SMS_CODE)


def test_a_reset_lifts_the_login_lockout(lc, outbox):
    phone = unique_phone()
    sign_up_by_phone(lc, outbox, phone, password="old")
    for _ in range(7):
        assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "bad"}), Errors.PASSWORD_MISMATCH)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "old"}), Errors.LOGIN_LOCKED)
    code = reset_code(lc, outbox, phone)
    assert lc.put(f"/1.1/resetPasswordBySmsCode/{code}", {"password": "new"}).status_code == 200
    assert lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": "new"}).status_code == 200


# --- change of number --------------------------------------------------------------------------------

def test_change_the_number_of_the_logged_in_user(lc, outbox):
    user = sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    new = unique_phone()
    mine = session(user["sessionToken"])
    code = code_for(lc, outbox, new, "/1.1/requestChangePhoneNumber", **mine)
    assert "请在6分钟内完成验证" in outbox.messages(new)[-1]["text"]
    row = live_code_row(new, Purpose.CHANGE_PHONE)
    assert 5 * 60 < (row.expires_at - row.created_at).total_seconds() <= 6 * 60
    response = lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": code}, **mine)
    assert response.status_code == 200 and response.json() == {}
    shown = me(lc, user["sessionToken"])
    assert shown["mobilePhoneNumber"] == new and shown["mobilePhoneVerified"] is True
    assert_error(lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": code}, **mine),
                 Errors.INVALID_SMS_CODE)


def test_the_change_code_lives_as_long_as_asked(lc, outbox):
    user = sign_up(lc, "alice")
    new = unique_phone()
    response = lc.post("/1.1/requestChangePhoneNumber", {"mobilePhoneNumber": new, "ttl": 3},
                       **session(user["sessionToken"]))
    assert response.status_code == 200
    assert "请在3分钟内完成验证" in outbox.messages(new)[-1]["text"]


def test_change_of_number_errors(lc, outbox):
    alice = sign_up(lc, "alice")
    taken = unique_phone()
    bob = sign_up(lc, "bob", mobilePhoneNumber=taken)
    new = unique_phone()
    for headers in ({}, session("0" * 25)):
        assert_error(lc.post("/1.1/requestChangePhoneNumber", {"mobilePhoneNumber": new}, **headers),
                     Errors.SESSION_REQUIRED)
        assert_error(lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": "123456"}, **headers),
                     Errors.SESSION_REQUIRED)
    mine = session(alice["sessionToken"])
    assert_error(lc.post("/1.1/requestChangePhoneNumber", {"mobilePhoneNumber": taken}, **mine), Errors.PHONE_TAKEN)
    assert_error(lc.post("/1.1/requestChangePhoneNumber", {}, **mine), Errors.PHONE_MISSING)
    assert_error(lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": "123456"}, **mine),
                 Errors.INVALID_SMS_CODE)
    code = code_for(lc, outbox, new, "/1.1/requestChangePhoneNumber", **mine)
    # Bob takes the number first: Alice's code no longer gives it to her.
    assert lc.put(f"/1.1/users/{bob['objectId']}", {"mobilePhoneNumber": new},
                  **session(bob["sessionToken"])).status_code == 200
    assert_error(lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": code}, **mine),
                 Errors.PHONE_TAKEN)
    # A code for another purpose does not change a number.
    free = unique_phone()
    other = code_for(lc, outbox, free)
    assert_error(lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": free, "code": other}, **mine),
                 Errors.INVALID_SMS_CODE)


# --- what every SMS-sending call shares -------------------------------------------------------------

def sms_calls(lc, outbox, app):
    """The four user calls that send a code, each ready to send one: (name, call)."""
    verified = sign_up_by_phone(lc, outbox)
    unverified_phone = unique_phone()
    sign_up(lc, "unverified", mobilePhoneNumber=unverified_phone)
    mine = session(verified["sessionToken"])
    new = unique_phone()
    return [
        ("requestMobilePhoneVerify", lambda **b: lc.post("/1.1/requestMobilePhoneVerify", {"mobilePhoneNumber": unverified_phone, **b})),
        ("requestLoginSmsCode", lambda **b: lc.post("/1.1/requestLoginSmsCode", {"mobilePhoneNumber": verified["mobilePhoneNumber"], **b})),
        ("requestPasswordResetBySmsCode", lambda **b: lc.post("/1.1/requestPasswordResetBySmsCode", {"mobilePhoneNumber": verified["mobilePhoneNumber"], **b})),
        ("requestChangePhoneNumber", lambda **b: lc.post("/1.1/requestChangePhoneNumber", {"mobilePhoneNumber": new, **b}, **mine)),
    ]


def test_each_sms_call_needs_a_validate_token_when_the_app_forces_captcha(lc, outbox, app):
    calls = sms_calls(lc, outbox, app)
    app.force_captcha = True
    app.save()
    sent = len(outbox.messages())
    for _, call in calls:
        assert_error(call(), Errors.MISSING_VALIDATE_TOKEN)
    assert len(outbox.messages()) == sent


def test_each_sms_call_is_flow_controlled_per_client_ip(lc, outbox, app, settings):
    calls = sms_calls(lc, outbox, app)
    settings.RATELIMIT_SMS_PER_IP = "4/m"
    from django.core.cache import cache

    cache.clear()
    for name, call in calls:
        assert call().status_code == 200, name
    for _, call in calls:
        assert_error(call(), Errors.TOO_MANY_REQUESTS)


def test_sms_calls_answer_an_empty_object(lc, outbox, app):
    for name, call in sms_calls(lc, outbox, app):
        response = call()
        assert response.status_code == 200 and response["Content-Type"] == "application/json", name
        assert response.content == b"{}", name


def test_each_code_goes_out_with_its_purpose(lc, outbox, app):
    for _, call in sms_calls(lc, outbox, app):
        call()
    purposes = set(Message.objects.values_list("purpose", flat=True))
    assert {Purpose.VERIFY_PHONE, Purpose.LOGIN, Purpose.RESET_PASSWORD, Purpose.CHANGE_PHONE} <= purposes


def test_sessions_of_the_flows_are_real_sessions(lc, outbox):
    user = sign_up_by_phone(lc, outbox)
    assert Session.objects.filter(user__object_id=user["objectId"]).count() == 1
