import time

import pytest

from sms.models import Message
from smsplatform.errors import Errors
from tests.support import assert_error, unique_phone

# The app's test number, typed as an operator may type it, and its fixed code.
pytestmark = [pytest.mark.django_db, pytest.mark.app(test_phone_number="186 0000 0001", test_phone_code="246810")]

TEST_NUMBER = "+8618600000001"


def test_the_test_number_is_stored_in_e164(app):
    app.refresh_from_db()
    assert app.test_phone_number == TEST_NUMBER


def test_nothing_goes_to_a_carrier_for_the_test_number(lc, outbox):
    response = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": TEST_NUMBER})
    assert response.status_code == 200
    assert outbox.messages() == []
    assert not Message.objects.exists()


def test_its_fixed_code_always_verifies(lc):
    for _ in range(3):
        assert lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER}).status_code == 200
    assert_error(lc.post("/1.1/verifySmsCode/246811", {"mobilePhoneNumber": TEST_NUMBER}), Errors.INVALID_SMS_CODE)


def test_the_fixed_code_is_for_the_test_number_only(lc, outbox):
    phone = unique_phone()
    lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone})
    assert_error(lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": phone}), Errors.INVALID_SMS_CODE)


def test_limits_still_apply_to_the_test_number(lc):
    assert lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": TEST_NUMBER}).status_code == 200
    response = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": TEST_NUMBER})
    assert_error(response, Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")


def test_an_invalid_test_number_is_refused(app):
    from django.core.exceptions import ValidationError

    app.test_phone_number = "12345"
    with pytest.raises(ValidationError):
        app.full_clean()


def test_five_wrong_guesses_lock_the_fixed_code_for_a_while(lc, settings):
    """The fixed code never dies, so its wrong guesses lock it instead: after five, even the right
    code is 603 until TEST_CODE_LOCKOUT_SECONDS after the last wrong one."""
    settings.TEST_CODE_LOCKOUT_SECONDS = 1
    for guess in range(5):
        assert_error(lc.post(f"/1.1/verifySmsCode/{100000 + guess}", {"mobilePhoneNumber": TEST_NUMBER}),
                     Errors.INVALID_SMS_CODE)
    assert_error(lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER}), Errors.INVALID_SMS_CODE)
    time.sleep(1.1)
    assert lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER}).status_code == 200


def test_the_lockout_holds_for_every_call_that_takes_the_fixed_code(lc, app):
    from tests.factories import EndUserFactory

    EndUserFactory(app=app, mobile_phone_number=TEST_NUMBER, mobile_phone_verified=True)
    for guess in range(5):
        assert_error(lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": TEST_NUMBER, "smsCode": f"{100000 + guess}"}),
                     Errors.INVALID_SMS_CODE)
    assert_error(lc.put("/1.1/resetPasswordBySmsCode/246810", {"password": "taken-over"}), Errors.INVALID_SMS_CODE)
    assert_error(lc.put("/1.1/resetPasswordBySmsCode/246810", {"password": "taken-over",
                                                                "mobilePhoneNumber": TEST_NUMBER}),
                 Errors.INVALID_SMS_CODE)
    assert_error(lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER}), Errors.INVALID_SMS_CODE)


def test_the_default_lockout_lasts_minutes(settings):
    assert 5 * 60 <= settings.TEST_CODE_LOCKOUT_SECONDS <= 24 * 3600


def test_verify_sms_code_has_a_per_ip_budget(lc, settings):
    settings.RATELIMIT_CODE_PER_IP = "3/m"
    for guess in range(3):
        assert_error(lc.post(f"/1.1/verifySmsCode/{100000 + guess}", {"mobilePhoneNumber": unique_phone()}),
                     Errors.INVALID_SMS_CODE)
    assert_error(lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER}), Errors.TOO_MANY_REQUESTS)
    assert lc.post("/1.1/verifySmsCode/246810", {"mobilePhoneNumber": TEST_NUMBER},
                   REMOTE_ADDR="10.7.7.7").status_code == 200
