import pytest

from sms.models import Message, MessageStatus
from tests.support import make_app, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


def test_sends_the_default_text_signed_with_the_app_name(lc, app, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "ttl": "5", "name": "天东商城", "op": "付款"})
    assert response.status_code == 200
    assert response.json() == {}
    [sent] = outbox.messages(phone)
    code = outbox.last_code(phone)
    assert sent["text"] == f"【{app.name}】您正在使用天东商城服务进行付款操作，您的验证码是：{code}，请在5分钟内完成验证。"
    assert sent["channel"] == "sms"


def test_without_op_or_name_the_text_drops_op_and_uses_the_app_name(lc, app, outbox):
    phone = unique_phone()
    lc.post(URL, {"mobilePhoneNumber": phone})
    code = outbox.last_code(phone)
    assert outbox.messages(phone)[0]["text"] == f"【{app.name}】您正在使用{app.name}服务，您的验证码是：{code}，请在10分钟内完成验证。"


def test_the_app_default_signature_signs_when_set(db, django_capture_on_commit_callbacks, outbox):
    from tests.support import LeanCloudClient

    app = make_app(sms_signature="天东商城")
    phone = unique_phone()
    LeanCloudClient(app, capture=django_capture_on_commit_callbacks).post(URL, {"mobilePhoneNumber": phone})
    assert outbox.messages(phone)[0]["text"].startswith("【天东商城】")


def test_a_number_without_country_code_is_chinese(lc, outbox):
    response = lc.post(URL, {"mobilePhoneNumber": "186 1234 5678"})
    assert response.status_code == 200
    assert outbox.messages("+8618612345678")


def test_the_code_is_never_in_the_answer_and_is_six_digits(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    code = outbox.last_code(phone)
    assert len(code) == 6 and code.isdigit()
    assert code.encode() not in response.content


def test_the_send_record_is_written_and_delivered(lc, app, outbox):
    phone = unique_phone()
    lc.post(URL, {"mobilePhoneNumber": phone, "op": "付款"})
    message = Message.objects.get(phone=phone)
    assert message.app == app
    assert message.channel == "sms"
    assert message.purpose == "sms_code"
    assert message.category == "verification"
    assert message.status == MessageStatus.DELIVERED
    assert message.carrier == "console"
    assert message.carrier_message_id == outbox.messages(phone)[0]["carrier_message_id"]
    # The record keeps the text with its code masked (security review item 1); the carrier got it whole.
    assert message.text == outbox.messages(phone)[0]["text"].replace(outbox.last_code(phone), "******")
    assert message.attempts == 1
    assert message.created_at <= message.submitted_at <= message.finished_at


@pytest.mark.parametrize("number", ["12345", "+86123", "not a number", "+999999999999", 18612345678, ["+8618612345678"]])
def test_an_invalid_number_is_127_and_sends_nothing(lc, outbox, number):
    response = lc.post(URL, {"mobilePhoneNumber": number})
    assert response.status_code == 400
    assert response.json() == {"code": 127, "error": "The mobile phone number was invalid."}
    assert outbox.messages() == []
    assert not Message.objects.exists()


def test_a_missing_number_is_212(lc):
    assert lc.post(URL, {}).json()["code"] == 212


def test_international_numbers_need_the_switch(lc, app, outbox):
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671"})
    assert response.status_code == 400
    assert response.json() == {"code": 1, "error": "International SMS is disabled, please enable it in console."}
    app.international_sms_enabled = True
    app.save()
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671"})
    assert response.status_code == 200
    assert outbox.messages("+14155552671")


def test_hong_kong_counts_as_international(lc):
    assert lc.post(URL, {"mobilePhoneNumber": "+85291234567"}).json()["code"] == 1


def test_voice_codes_speak_six_digits_to_mainland_numbers(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"})
    assert response.status_code == 200
    [call] = outbox.messages(phone)
    assert call["channel"] == "voice"
    digits = call["text"].split(" ")
    assert len(digits) == 6 and all(d.isdigit() for d in digits)
    assert Message.objects.get(phone=phone).channel == "voice"


def test_voice_is_mainland_only(lc, app):
    app.international_sms_enabled = True
    app.save()
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671", "smsType": "voice"})
    assert response.status_code == 400
    assert response.json()["code"] == 1
    assert "mainland" in response.json()["error"]


def test_unknown_sms_type_is_refused(lc):
    response = lc.post(URL, {"mobilePhoneNumber": unique_phone(), "smsType": "fax"})
    assert response.status_code == 400
    assert response.json()["code"] == 1


@pytest.mark.parametrize("ttl", ["0", "-1", "abc", 1441, True])
def test_a_bad_ttl_is_refused(lc, outbox, ttl):
    response = lc.post(URL, {"mobilePhoneNumber": unique_phone(), "ttl": ttl})
    assert response.status_code == 400
    assert "ttl" in response.json()["error"]
    assert outbox.messages() == []


def test_template_answers_604_until_templates_exist(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "template": "activity", "sign": "sign", "date": "2014 年 10 月 31 号"})
    assert response.status_code == 400
    assert response.json() == {"code": 604, "error": "SMS template not found."}
    assert outbox.messages() == []


def test_the_generic_code_service_can_be_switched_off(lc, app, outbox):
    app.sms_code_service_enabled = False
    app.save()
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert response.status_code == 403
    assert response.json() == {"code": 119, "error": "That operation isn't allowed for clients."}
    assert lc.post("/1.1/verifySmsCode/123456", {"mobilePhoneNumber": phone}).json()["code"] == 119
    assert outbox.messages() == []


def test_a_failed_write_counts_no_limit(lc, outbox, monkeypatch):
    """Bad input loses nothing: a request that fails after the limit check gives its hit back."""
    from sms.models import VerificationCode

    phone = unique_phone()
    original = VerificationCode.objects.bulk_create

    def failing(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(VerificationCode.objects, "bulk_create", failing)
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 500
    monkeypatch.setattr(VerificationCode.objects, "bulk_create", original)
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert not Message.objects.filter(phone=phone, status=MessageStatus.ACCEPTED).exists()
    assert len(outbox.messages(phone)) == 1


def test_an_app_forcing_captcha_refuses_a_request_without_validate_token(lc, app, outbox):
    app.force_captcha = True
    app.save()
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert response.status_code == 400
    assert response.json() == {"code": 608, "error": "Missing validate token."}
    assert outbox.messages() == []
    assert not Message.objects.exists()
