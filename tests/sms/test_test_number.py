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
