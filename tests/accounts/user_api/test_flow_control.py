"""Per-client-IP budgets of the credential calls: password logins, sign-ups, changes of a user, and
the calls that check a code with its number (each a setting, 429 past it, as the SMS calls have)."""
import pytest

from smsplatform.errors import Errors
from tests.accounts.support import sign_up
from tests.factories import EndUserFactory, SessionFactory
from tests.support import assert_error, session, unique_phone

pytestmark = pytest.mark.django_db


def calls(lc, app):
    """(the setting of its budget, a call that spends it) for each credential call."""
    user = EndUserFactory(app=app, verified=True)
    SessionFactory(user=user, token="t" * 25)
    mine = session("t" * 25)
    phone = user.mobile_phone_number
    return {
        "login": ("RATELIMIT_LOGIN_PER_IP", lambda: lc.post("/1.1/login", {"username": user.username, "password": "bad"})),
        "login-by-get": ("RATELIMIT_LOGIN_PER_IP", lambda: lc.get(f"/1.1/login?username={user.username}&password=bad")),
        "login-with-code": ("RATELIMIT_LOGIN_PER_IP",
                            lambda: lc.post("/1.1/login", {"mobilePhoneNumber": phone, "smsCode": "000000"})),
        "updatePassword": ("RATELIMIT_LOGIN_PER_IP",
                           lambda: lc.put(f"/1.1/users/{user.object_id}/updatePassword",
                                          {"old_password": "bad", "new_password": "x"}, **mine)),
        "sign-up-js": ("RATELIMIT_SIGNUP_PER_IP",
                       lambda: lc.post("/1.1/users", {"username": unique_phone(), "password": "pw"})),
        "sign-up-python": ("RATELIMIT_SIGNUP_PER_IP",
                           lambda: lc.post("/1.1/classes/_User", {"username": unique_phone(), "password": "pw"})),
        "update-user": ("RATELIMIT_USER_UPDATE_PER_IP",
                        lambda: lc.put(f"/1.1/users/{user.object_id}", {"nickname": "x"}, **mine)),
        "usersByMobilePhone": ("RATELIMIT_CODE_PER_IP",
                               lambda: lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": "000000"})),
        "verifyMobilePhone": ("RATELIMIT_CODE_PER_IP",
                              lambda: lc.post("/1.1/verifyMobilePhone/000000", {"mobilePhoneNumber": phone})),
        "verifySmsCode": ("RATELIMIT_CODE_PER_IP",
                          lambda: lc.post("/1.1/verifySmsCode/000000", {"mobilePhoneNumber": phone})),
        "resetPasswordBySmsCode": ("RATELIMIT_CODE_PER_IP",
                                   lambda: lc.put("/1.1/resetPasswordBySmsCode/000000",
                                                  {"mobilePhoneNumber": phone, "password": "x"})),
        "changePhoneNumber": ("RATELIMIT_CODE_PER_IP",
                              lambda: lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": unique_phone(),
                                                                         "code": "000000"}, **mine)),
    }


NAMES = ["login", "login-by-get", "login-with-code", "updatePassword", "sign-up-js", "sign-up-python", "update-user",
         "usersByMobilePhone", "verifyMobilePhone", "verifySmsCode", "resetPasswordBySmsCode", "changePhoneNumber"]


@pytest.mark.parametrize("name", NAMES)
def test_each_credential_call_has_a_per_ip_budget(lc, app, settings, name):
    setting, call = calls(lc, app)[name]
    setattr(settings, setting, "2/m")
    answers = [call() for _ in range(3)]
    assert 429 not in [a.status_code for a in answers[:2]], name
    assert_error(answers[2], Errors.TOO_MANY_REQUESTS)


def test_another_client_has_its_own_budget(lc, app, settings):
    settings.RATELIMIT_LOGIN_PER_IP = "1/m"
    sign_up(lc, "alice", "pw1")
    assert lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).status_code == 200
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "pw1"}), Errors.TOO_MANY_REQUESTS)
    assert lc.post("/1.1/login", {"username": "alice", "password": "pw1"}, REMOTE_ADDR="10.8.8.8").status_code == 200


def test_the_budgets_are_on_by_default(settings):
    for setting in ("RATELIMIT_LOGIN_PER_IP", "RATELIMIT_SIGNUP_PER_IP", "RATELIMIT_USER_UPDATE_PER_IP",
                    "RATELIMIT_CODE_PER_IP"):
        count, _, unit = getattr(settings, setting).partition("/")
        assert int(count) > 0 and unit == "m", setting
