"""The limits of one send (per number, per signature, from the app's settings): `sms/sending_limits.py`."""
import pytest

from sms.sending_limits import sending_rules
from smsplatform.errors import Errors
from tests.support import assert_error, outcomes, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_voice_limits(limiter, app):
    rules = sending_rules(app=app, phone="+8618600000000", channel="voice", category="verification", signature="s")
    minutes = [0, 0.2, 0.6, 1.2, 1.8, 2.4]  # 1 per 30 s: the one at 12 s is refused
    times = [m * 60 for m in minutes]
    assert outcomes(limiter, rules, times) == ["ok", 601, "ok", "ok", 601, 601]  # 3 an hour
    later = [3700, 3740, 3800, 3900]  # the hour has passed: two more, then 5 a day
    assert outcomes(limiter, rules, later) == ["ok", "ok", 601, 601]
    assert outcomes(limiter, rules, [86400 + 1]) == ["ok"]


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_verification_limit_is_ten_in_any_24_hours(limiter, app):
    rules = sending_rules(app=app, phone="+8618600000000", channel="sms", category="verification", signature="s")
    assert outcomes(limiter, rules, [i * 3600 for i in range(11)]) == ["ok"] * 10 + [601]
    # The first one, sent at 0 h, leaves the window at 24 h.
    assert outcomes(limiter, rules, [24 * 3600 + 1, 24 * 3600 + 2]) == ["ok", 601]


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0, limit_verification_per_24h=0)
def test_a_limit_of_zero_means_no_limit(app):
    assert sending_rules(app=app, phone="+8618600000000", channel="sms", category="verification", signature="s") == []


def test_second_request_within_the_interval_is_code_1(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert_error(response, Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")
    assert len(outbox.messages(phone)) == 1


@pytest.mark.app(limit_interval_seconds=0)
def test_one_a_minute_per_number_and_signature(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone}), Errors.SMS_TOO_FREQUENT)
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"}), Errors.SMS_TOO_FREQUENT)
    assert len(outbox.messages(phone)) == 1


def test_apps_sharing_a_signature_share_its_per_minute_limit(client_of, app_with, outbox):
    first = client_of(app_with(sms_signature="共享签名"))
    second = client_of(app_with(sms_signature="共享签名"))
    third = client_of(app_with(sms_signature="别的签名"))
    phone = unique_phone()
    assert first.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert_error(second.post(URL, {"mobilePhoneNumber": phone}), Errors.SMS_TOO_FREQUENT)
    assert third.post(URL, {"mobilePhoneNumber": phone}).status_code == 200


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_ten_verification_sms_a_day(lc, outbox):
    phone = unique_phone()
    for _ in range(10):
        assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone}), Errors.SMS_TOO_FREQUENT)
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
