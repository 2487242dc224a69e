"""Sessions and the login lockout: `accounts/services/sessions.py`."""
import pytest

from accounts.services.sessions import login_failure_rules
from tests.support import outcomes

pytestmark = pytest.mark.django_db


def test_login_lockout_holds_until_fifteen_minutes_after_the_last_failure(limiter, app):
    rules = login_failure_rules(app=app, user_id=1)
    minute = 60
    # Seven failures within 15 minutes (the last at 10 min); then every attempt is refused...
    failures = [0, 1, 2, 3, 4, 5, 10]
    assert outcomes(limiter, rules, [m * minute for m in failures]) == ["ok"] * 7
    assert outcomes(limiter, rules, [11 * minute, 16 * minute, 24.9 * minute]) == [219, 219, 219]
    # ...until 15 minutes after the last failure, although the first ones left the window long before.
    assert outcomes(limiter, rules, [25.1 * minute]) == ["ok"]


def test_failures_spread_beyond_fifteen_minutes_do_not_lock(limiter, app):
    rules = login_failure_rules(app=app, user_id=2)
    times = [i * 3 * 60 for i in range(12)]  # one failure every 3 minutes: at most 5 in any 15 minutes
    assert outcomes(limiter, rules, times) == ["ok"] * 12
