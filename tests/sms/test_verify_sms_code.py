from datetime import timedelta

import pytest
from django.utils import timezone

from sms.models import Message, MessageStatus, VerificationCode
from smsplatform.errors import Errors
from tests.support import assert_error, unique_phone

pytestmark = pytest.mark.django_db

def request(lc, phone, **extra):
    response = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone, **extra})
    assert response.status_code == 200, response.json()


def verify(lc, phone, code):
    return lc.post(f"/1.1/verifySmsCode/{code}", {"mobilePhoneNumber": phone})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def test_the_right_code_verifies_once(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    code = outbox.last_code(phone)
    response = verify(lc, phone, code)
    assert response.status_code == 200
    assert response.json() == {}
    second = verify(lc, phone, code)
    assert_error(second, Errors.INVALID_SMS_CODE)


def test_verification_moves_the_send_record_to_verified(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    verify(lc, phone, outbox.last_code(phone))
    message = Message.objects.get(phone=phone)
    assert message.status == MessageStatus.VERIFIED
    assert message.verified_at is not None


def test_the_number_may_be_given_without_country_code(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    assert verify(lc, phone.removeprefix("+86"), outbox.last_code(phone)).status_code == 200


def test_a_wrong_code_is_603(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    assert_error(verify(lc, phone, wrong(outbox.last_code(phone))), Errors.INVALID_SMS_CODE)


def test_a_code_belongs_to_its_number(lc, outbox):
    phone, other = unique_phone(), unique_phone()
    request(lc, phone)
    assert_error(verify(lc, other, outbox.last_code(phone)), Errors.INVALID_SMS_CODE)
    assert verify(lc, phone, outbox.last_code(phone)).status_code == 200


def test_a_code_belongs_to_its_app(lc, outbox, client_of, app_with):
    phone = unique_phone()
    request(lc, phone)
    other_app = client_of(app_with())
    assert_error(verify(other_app, phone, outbox.last_code(phone)), Errors.INVALID_SMS_CODE)


def test_an_expired_code_is_603(lc, outbox):
    phone = unique_phone()
    request(lc, phone, ttl=1)
    code = outbox.last_code(phone)
    VerificationCode.objects.filter(phone=phone).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(verify(lc, phone, code), Errors.INVALID_SMS_CODE)


def test_the_code_lives_for_its_ttl(lc, outbox):
    phone = unique_phone()
    before = timezone.now()
    request(lc, phone, ttl="7")
    expires_at = VerificationCode.objects.get(phone=phone).expires_at
    assert before + timedelta(minutes=7) <= expires_at <= timezone.now() + timedelta(minutes=7)


def test_five_wrong_guesses_kill_the_code(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    code = outbox.last_code(phone)
    for _ in range(5):
        assert_error(verify(lc, phone, wrong(code)), Errors.INVALID_SMS_CODE)
    assert_error(verify(lc, phone, code), Errors.INVALID_SMS_CODE)


def test_four_wrong_guesses_leave_the_code_alive(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    code = outbox.last_code(phone)
    for _ in range(4):
        assert_error(verify(lc, phone, wrong(code)), Errors.INVALID_SMS_CODE)
    assert verify(lc, phone, code).status_code == 200


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_a_newer_code_replaces_the_old(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    first = outbox.last_code(phone)
    request(lc, phone)
    second = outbox.last_code(phone)
    if first != second:
        assert_error(verify(lc, phone, first), Errors.INVALID_SMS_CODE)
    assert verify(lc, phone, second).status_code == 200
    assert VerificationCode.objects.filter(phone=phone).count() == 1


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_a_new_code_revives_a_number_after_wrong_guesses(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    for _ in range(5):
        assert_error(verify(lc, phone, wrong(outbox.last_code(phone))), Errors.INVALID_SMS_CODE)
    request(lc, phone)
    assert verify(lc, phone, outbox.last_code(phone)).status_code == 200


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 456"])
def test_malformed_codes_are_603(lc, code):
    assert_error(verify(lc, unique_phone(), code), Errors.INVALID_SMS_CODE)


def test_codes_are_stored_hashed(lc, outbox):
    phone = unique_phone()
    request(lc, phone)
    code = outbox.last_code(phone)
    stored = VerificationCode.objects.get(phone=phone)
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


def test_verify_needs_a_valid_number(lc):
    assert_error(lc.post("/1.1/verifySmsCode/123456", {}), Errors.PHONE_MISSING)
    assert_error(lc.post("/1.1/verifySmsCode/123456", {"mobilePhoneNumber": "123"}), Errors.INVALID_PHONE)
