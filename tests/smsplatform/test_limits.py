"""The limiter (every rule of an action checked and counted in one step; hits given back) and the
per-client-IP budgets: `smsplatform/limits.py`."""
import pytest
from django.conf import settings

from sms.models import Message
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import LocalLimiter, RedisLimiter, Rule, get_limiter
from tests.support import LeanCloudClient, assert_error, outcomes, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


def test_the_configured_limiter_is_redis_exactly_when_redis_is_configured():
    assert isinstance(get_limiter(), RedisLimiter if settings.REDIS_URL else LocalLimiter)


def test_sliding_window(limiter):
    rules = [Rule("k:window", 10, 1, Errors.BAD_REQUEST, "too fast")]
    assert outcomes(limiter, rules, [1000, 1009.9, 1010.1, 1015, 1020.2]) == ["ok", Errors.BAD_REQUEST, "ok", Errors.BAD_REQUEST, "ok"]


def test_all_rules_or_none_are_counted(limiter):
    short = Rule("k:short", 60, 1)
    long = Rule("k:long", 3600, 2)
    assert outcomes(limiter, [short, long], [0, 30]) == ["ok", Errors.SMS_TOO_FREQUENT]
    # The refused hit at 30 s did not count against `long`: one more fits after `short` frees up.
    assert outcomes(limiter, [short, long], [61, 122]) == ["ok", Errors.SMS_TOO_FREQUENT]


def test_release_gives_the_hit_back(limiter):
    rules = [Rule("k:release", 60, 1)]
    reservation = limiter.acquire(rules, now=0)
    limiter.release(reservation)
    assert outcomes(limiter, rules, [1]) == ["ok"]


def test_holding_gives_the_hits_back_when_its_block_fails_unless_told_to_keep_them(limiter):
    rules = [Rule("k:holding", 3600, 1)]
    with pytest.raises(RuntimeError):
        with limiter.holding(rules):
            raise RuntimeError("the send failed after its limits were counted")
    # Given back: this one is let in, and keeps its hit (as a wrong password does).
    with pytest.raises(LeanCloudError) as kept:
        with limiter.holding(rules, keep_on=(LeanCloudError,)):
            raise LeanCloudError(Errors.PASSWORD_MISMATCH)
    assert kept.value.kind == Errors.PASSWORD_MISMATCH
    with pytest.raises(LeanCloudError) as refused:
        limiter.acquire(rules)
    assert refused.value.kind == Errors.SMS_TOO_FREQUENT


def test_per_ip_flow_control_is_429(lc, app, settings, outbox):
    settings.RATELIMIT_SMS_PER_IP = "3/d"
    answers = [lc.post(URL, {"mobilePhoneNumber": unique_phone()}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_error(answers[-1], Errors.TOO_MANY_REQUESTS)
    assert len(outbox.messages()) == 3
    other_ip = lc.post(URL, {"mobilePhoneNumber": unique_phone()}, REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 200


def test_per_ip_flow_control_can_be_switched_off(app, settings):
    """With RATELIMIT_SMS_PER_IP empty a client sends past any budget: the one it has just used up, and
    the one configured before (100 a minute by default), which an empty setting must not fall back to."""
    configured = int(settings.RATELIMIT_SMS_PER_IP.split("/")[0] or 0)
    lc = LeanCloudClient(app)  # without delivery: only accepting counts here

    def send():
        return lc.post(URL, {"mobilePhoneNumber": unique_phone()})

    settings.RATELIMIT_SMS_PER_IP = "3/d"
    assert [send().status_code for _ in range(3)] == [200, 200, 200]
    assert_error(send(), Errors.TOO_MANY_REQUESTS)

    settings.RATELIMIT_SMS_PER_IP = ""
    more_than_either_budget = max(configured, 3) + 1
    assert [send().status_code for _ in range(more_than_either_budget)] == [200] * more_than_either_budget
    assert Message.objects.count() == 3 + more_than_either_budget


