import pytest
from django.conf import settings

from sms.sending_limits import sending_rules
from smsplatform.limits import LocalLimiter, RedisLimiter, Rule, get_limiter
from smsplatform.errors import Errors, LeanCloudError
from tests.support import LeanCloudClient, make_app, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


def limiters():
    """The limiter this configuration uses, and the local one too when that is Redis."""
    found = [LocalLimiter()]
    if settings.REDIS_URL:
        found.append(get_limiter())
    return found


@pytest.fixture(params=range(len(limiters())), ids=lambda i: ["local", "redis"][i])
def limiter(request):
    chosen = limiters()[request.param]
    chosen.clear()
    return chosen


def test_the_configured_limiter_is_redis_exactly_when_redis_is_configured():
    assert isinstance(get_limiter(), RedisLimiter if settings.REDIS_URL else LocalLimiter)


def outcomes(limiter, rules, times):
    results = []
    for t in times:
        try:
            limiter.acquire(rules, now=t)
            results.append("ok")
        except LeanCloudError as error:
            results.append(error.code)
    return results


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


def test_voice_limits(limiter, app):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 0
    rules = sending_rules(app=app, phone="+8618600000000", channel="voice", category="verification", signature="s")
    minutes = [0, 0.2, 0.6, 1.2, 1.8, 2.4]  # 1 per 30 s: the one at 12 s is refused
    times = [m * 60 for m in minutes]
    assert outcomes(limiter, rules, times) == ["ok", 601, "ok", "ok", 601, 601]  # 3 an hour
    later = [3700, 3740, 3800, 3900]  # the hour has passed: two more, then 5 a day
    assert outcomes(limiter, rules, later) == ["ok", "ok", 601, 601]
    assert outcomes(limiter, rules, [86400 + 1]) == ["ok"]


def test_verification_limit_is_ten_in_any_24_hours(limiter, app):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 0
    rules = sending_rules(app=app, phone="+8618600000000", channel="sms", category="verification", signature="s")
    assert outcomes(limiter, rules, [i * 3600 for i in range(11)]) == ["ok"] * 10 + [601]
    # The first one, sent at 0 h, leaves the window at 24 h.
    assert outcomes(limiter, rules, [24 * 3600 + 1, 24 * 3600 + 2]) == ["ok", 601]


def test_a_limit_of_zero_means_no_limit(app):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 0
    app.limit_verification_per_24h = 0
    assert sending_rules(app=app, phone="+8618600000000", channel="sms", category="verification", signature="s") == []


def test_second_request_within_the_interval_is_code_1(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert response.status_code == 400
    assert response.json() == {"code": 1, "error": "SMS request too fast(1 request per 10s)."}
    assert len(outbox.messages(phone)) == 1


def test_one_a_minute_per_number_and_signature(lc, app, outbox):
    app.limit_interval_seconds = 0
    app.save()
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert lc.post(URL, {"mobilePhoneNumber": phone}).json() == {"code": 601, "error": "Can't send SMS too frequently."}
    assert lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"}).json()["code"] == 601
    assert len(outbox.messages(phone)) == 1


def test_apps_sharing_a_signature_share_its_per_minute_limit(db, django_capture_on_commit_callbacks, outbox):
    first = LeanCloudClient(make_app(sms_signature="共享签名"), capture=django_capture_on_commit_callbacks)
    second = LeanCloudClient(make_app(sms_signature="共享签名"), capture=django_capture_on_commit_callbacks)
    third = LeanCloudClient(make_app(sms_signature="别的签名"), capture=django_capture_on_commit_callbacks)
    phone = unique_phone()
    assert first.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert second.post(URL, {"mobilePhoneNumber": phone}).json()["code"] == 601
    assert third.post(URL, {"mobilePhoneNumber": phone}).status_code == 200


def test_ten_verification_sms_a_day(lc, app, outbox):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 0
    app.save()
    phone = unique_phone()
    for _ in range(10):
        assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert lc.post(URL, {"mobilePhoneNumber": phone}).json()["code"] == 601
    assert len(outbox.messages(phone)) == 10


def test_limits_are_app_settings(lc, app, outbox):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 3
    app.save()
    phone = unique_phone()
    results = [lc.post(URL, {"mobilePhoneNumber": phone}).status_code for _ in range(4)]
    assert results == [200, 200, 200, 400]


def test_a_refused_request_is_not_counted(lc, app, outbox):
    app.limit_interval_seconds = 0
    app.limit_per_minute = 2
    app.save()
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone, "ttl": "nope"}).status_code == 400
    assert lc.post(URL, {"mobilePhoneNumber": phone, "template": "x"}).status_code == 400
    assert [lc.post(URL, {"mobilePhoneNumber": phone}).status_code for _ in range(2)] == [200, 200]


def test_per_ip_flow_control_is_429(lc, app, settings, outbox):
    settings.RATELIMIT_SMS_PER_IP = "3/d"
    answers = [lc.post(URL, {"mobilePhoneNumber": unique_phone()}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json() == {"code": 429, "error": "Too many requests."}
    assert len(outbox.messages()) == 3
    other_ip = lc.post(URL, {"mobilePhoneNumber": unique_phone()}, REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 200


def test_per_ip_flow_control_can_be_switched_off(lc, settings, outbox):
    settings.RATELIMIT_SMS_PER_IP = ""
    assert all(lc.post(URL, {"mobilePhoneNumber": unique_phone()}).status_code == 200 for _ in range(5))


def test_login_lockout_holds_until_fifteen_minutes_after_the_last_failure(limiter, app):
    from accounts.services.sessions import login_failure_rules

    rules = login_failure_rules(app=app, user_id=1)
    minute = 60
    # Seven failures within 15 minutes (the last at 10 min); then every attempt is refused...
    failures = [0, 1, 2, 3, 4, 5, 10]
    assert outcomes(limiter, rules, [m * minute for m in failures]) == ["ok"] * 7
    assert outcomes(limiter, rules, [11 * minute, 16 * minute, 24.9 * minute]) == [219, 219, 219]
    # ...until 15 minutes after the last failure, although the first ones left the window long before.
    assert outcomes(limiter, rules, [25.1 * minute]) == ["ok"]


def test_failures_spread_beyond_fifteen_minutes_do_not_lock(limiter, app):
    from accounts.services.sessions import login_failure_rules

    rules = login_failure_rules(app=app, user_id=2)
    times = [i * 3 * 60 for i in range(12)]  # one failure every 3 minutes: at most 5 in any 15 minutes
    assert outcomes(limiter, rules, times) == ["ok"] * 12
