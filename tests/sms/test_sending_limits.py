"""The limits of one send (per number, per signature, from the app's settings): `sms/sending_limits.py`."""
import pytest

from captcha_app.services import redeem_validate_token
from sms import codes
from sms.sending_limits import sending_rules
from smsplatform.errors import Errors
from tests.captcha_app.support import solve
from tests.support import assert_error, outcomes, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"
TOO_FREQUENT = Errors.SMS_TOO_FREQUENT


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_voice_limits(limiter, app):
    rules = sending_rules(app=app, phone="+8618600000000", channel="voice", category="verification", signature="s")
    minutes = [0, 0.2, 0.6, 1.2, 1.8, 2.4]  # 1 per 30 s: the one at 12 s is refused
    times = [m * 60 for m in minutes]
    assert outcomes(limiter, rules, times) == ["ok", TOO_FREQUENT, "ok", "ok", TOO_FREQUENT, TOO_FREQUENT]  # 3 an hour
    later = [3700, 3740, 3800, 3900]  # the hour has passed: two more, then 5 a day
    assert outcomes(limiter, rules, later) == ["ok", "ok", TOO_FREQUENT, TOO_FREQUENT]
    assert outcomes(limiter, rules, [86400 + 1]) == ["ok"]


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_verification_limit_is_ten_in_any_24_hours(limiter, app):
    rules = sending_rules(app=app, phone="+8618600000000", channel="sms", category="verification", signature="s")
    assert outcomes(limiter, rules, [i * 3600 for i in range(11)]) == ["ok"] * 10 + [TOO_FREQUENT]
    # The first one, sent at 0 h, leaves the window at 24 h.
    assert outcomes(limiter, rules, [24 * 3600 + 1, 24 * 3600 + 2]) == ["ok", TOO_FREQUENT]


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


def test_limits_are_app_settings(client_of, app_with, outbox):
    """Four requests in a row to one number meet each app's own limits."""
    phone = unique_phone()

    def four_requests(app):
        client = client_of(app)
        return [client.post(URL, {"mobilePhoneNumber": phone}) for _ in range(4)]

    # The defaults: one per number every 10 s.
    first, *refused = four_requests(app_with())
    assert first.status_code == 200
    for answer in refused:
        assert_error(answer, Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")
    # No interval and three a minute: three go, the fourth is one too many.
    *sent, fourth = four_requests(app_with(limit_interval_seconds=0, limit_per_minute=3))
    assert [answer.status_code for answer in sent] == [200, 200, 200]
    assert_error(fourth, Errors.SMS_TOO_FREQUENT)
    # A longer interval, in the error too.
    first, *refused = four_requests(app_with(limit_interval_seconds=30))
    assert first.status_code == 200
    for answer in refused:
        assert_error(answer, Errors.BAD_REQUEST, "SMS request too fast(1 request per 30s).")
    assert len(outbox.messages(phone)) == 5


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=2, force_captcha=True)
def test_a_refused_request_is_not_counted(lc, outbox, monkeypatch):
    """Whether a request is refused before its number's limits are counted (bad input) or after
    (inside the accepting step), it leaves them as they were."""
    phone = unique_phone()
    token = solve(lc)  # a request refused before accepting keeps its validate token
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "ttl": "nope", "validate_token": token}),
                 Errors.BAD_REQUEST, "ttl must be a whole number from 1 to 1440.")
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "template": "x", "validate_token": token}),
                 Errors.TEMPLATE_NOT_FOUND)

    # The token passes the early check; then a racing request spends it before this one, which has
    # counted its limits already, can: refused (608) when it redeems the token.
    check_validate_token = codes.check_validate_token

    def checked_then_spent_by_another_request(*, app, validate_token):
        check_validate_token(app=app, validate_token=validate_token)
        redeem_validate_token(app=app, validate_token=validate_token)

    with monkeypatch.context() as patch:
        patch.setattr(codes, "check_validate_token", checked_then_spent_by_another_request)
        assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "validate_token": token}),
                     Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages(phone) == []

    # None of the three counted: the number has both of its two a minute, and no more.
    for _ in range(2):
        assert lc.post(URL, {"mobilePhoneNumber": phone, "validate_token": solve(lc)}).status_code == 200
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "validate_token": solve(lc)}), Errors.SMS_TOO_FREQUENT)
    assert len(outbox.messages(phone)) == 2
