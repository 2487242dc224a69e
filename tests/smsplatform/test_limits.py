"""The limiter (every rule of an action checked and counted in one step; hits given back) and the
per-client-IP budgets: `smsplatform/limits.py`."""
import pytest
from django.conf import settings

from smsplatform.limits import LocalLimiter, RedisLimiter, Rule, get_limiter
from smsplatform.errors import Errors
from tests.support import assert_error, outcomes, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


def test_the_configured_limiter_is_redis_exactly_when_redis_is_configured():
    assert isinstance(get_limiter(), RedisLimiter if settings.REDIS_URL else LocalLimiter)


def test_sliding_window(limiter):
    rules = [Rule("k:window", 10, 1, Errors.BAD_REQUEST, "too fast")]
    assert outcomes(limiter, rules, [1000, 1009.9, 1010.1, 1015, 1020.2]) == ["ok", 1, "ok", 1, "ok"]


def test_all_rules_or_none_are_counted(limiter):
    short = Rule("k:short", 60, 1)
    long = Rule("k:long", 3600, 2)
    assert outcomes(limiter, [short, long], [0, 30]) == ["ok", 601]
    # The refused hit at 30 s did not count against `long`: one more fits after `short` frees up.
    assert outcomes(limiter, [short, long], [61, 122]) == ["ok", 601]


def test_release_gives_the_hit_back(limiter):
    rules = [Rule("k:release", 60, 1)]
    reservation = limiter.acquire(rules, now=0)
    limiter.release(reservation)
    assert outcomes(limiter, rules, [1]) == ["ok"]


def test_per_ip_flow_control_is_429(lc, app, settings, outbox):
    settings.RATELIMIT_SMS_PER_IP = "3/d"
    answers = [lc.post(URL, {"mobilePhoneNumber": unique_phone()}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_error(answers[-1], Errors.TOO_MANY_REQUESTS)
    assert len(outbox.messages()) == 3
    other_ip = lc.post(URL, {"mobilePhoneNumber": unique_phone()}, REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 200


def test_per_ip_flow_control_can_be_switched_off(lc, settings, outbox):
    settings.RATELIMIT_SMS_PER_IP = ""
    assert all(lc.post(URL, {"mobilePhoneNumber": unique_phone()}).status_code == 200 for _ in range(5))


