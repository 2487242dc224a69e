"""Sessions and the login lockout: `accounts/services/sessions.py`."""
import pytest

from accounts.services import sessions
from accounts.services.sessions import login_failure_rules
from smsplatform.errors import Errors
from tests.accounts.support import sign_up
from tests.support import assert_error, outcomes

pytestmark = pytest.mark.django_db


def test_login_lockout_holds_until_fifteen_minutes_after_the_last_failure(limiter, app):
    rules = login_failure_rules(app=app, user_id=1)
    minute = 60
    # Seven failures within 15 minutes (the last at 10 min); then every attempt is refused...
    failures = [0, 1, 2, 3, 4, 5, 10]
    assert outcomes(limiter, rules, [m * minute for m in failures]) == ["ok"] * 7
    assert outcomes(limiter, rules, [11 * minute, 16 * minute, 24.9 * minute]) == [Errors.LOGIN_LOCKED] * 3
    # ...until 15 minutes after the last failure, although the first ones left the window long before.
    assert outcomes(limiter, rules, [25.1 * minute]) == ["ok"]


def test_failures_spread_beyond_fifteen_minutes_do_not_lock(limiter, app):
    rules = login_failure_rules(app=app, user_id=2)
    times = [i * 3 * 60 for i in range(12)]  # one failure every 3 minutes: at most 5 in any 15 minutes
    assert outcomes(limiter, rules, times) == ["ok"] * 12


def test_a_login_that_fails_for_another_reason_than_its_credentials_is_not_counted(lc, monkeypatch):
    """Seven wrong passwords lock a user out; a login that broke down on the way is not one of them."""
    sign_up(lc, "alice", "pw1")
    for _ in range(6):
        assert_error(lc.post("/1.1/login", {"username": "alice", "password": "bad"}), Errors.PASSWORD_MISMATCH)

    def broken(*args, **kwargs):
        raise RuntimeError("the password check broke down")

    with monkeypatch.context() as patch:
        patch.setattr(sessions, "check_password", broken)
        assert_error(lc.post("/1.1/login", {"username": "alice", "password": "bad"}), Errors.INTERNAL)
    # Had it counted, this would be the eighth attempt, refused before its password is looked at.
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "bad"}), Errors.PASSWORD_MISMATCH)
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "pw1"}), Errors.LOGIN_LOCKED)
