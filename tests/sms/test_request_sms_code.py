import pytest

from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.support import assert_error, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"
INTERNATIONAL_DISABLED = "International SMS is disabled, please enable it in console."


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


@pytest.mark.app(sms_signature="天东商城")
def test_the_app_default_signature_signs_when_set(lc, outbox):
    phone = unique_phone()
    lc.post(URL, {"mobilePhoneNumber": phone})
    assert outbox.messages(phone)[0]["text"].startswith("【天东商城】")


def test_a_number_without_country_code_is_chinese(lc, outbox):
    response = lc.post(URL, {"mobilePhoneNumber": "186 1234 5678"})
    assert response.status_code == 200
    assert outbox.messages("+8618612345678")


def test_the_code_is_never_in_the_answer_and_is_six_digits(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert (response.status_code, response.json()) == (200, {})
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
    assert_error(response, Errors.INVALID_PHONE)
    assert outbox.messages() == []
    assert not Message.objects.exists()


NOT_MOBILE = {
    "beijing-fixed-line": "+86 10 6552 9988",
    "shanghai-fixed-line-as-dialled": "021-6552 9988",
    "shared-cost-400": "400 123 4567",
    "uk-premium-rate": "+44 909 000 0000",
    "us-premium-rate": "+1 900 555 0123",
    "gmss-satellite": "+881 612 345 678",
    "inmarsat-satellite": "+870 301 234 567",
    "international-networks-voip": "+883 510 012 345",
    "international-freephone": "+800 1234 5678",
}


@pytest.mark.app(international_sms_enabled=True)
@pytest.mark.parametrize("number", list(NOT_MOBILE.values()), ids=list(NOT_MOBILE))
def test_a_number_that_is_no_mobile_is_127_and_gets_no_code(lc, outbox, number):
    assert_error(lc.post(URL, {"mobilePhoneNumber": number}), Errors.INVALID_PHONE)
    assert_error(lc.post(URL, {"mobilePhoneNumber": number, "smsType": "voice"}), Errors.INVALID_PHONE)
    assert outbox.messages() == []
    assert not Message.objects.exists()


@pytest.mark.app(international_sms_enabled=True, limit_interval_seconds=0, limit_per_minute=0)
@pytest.mark.parametrize("number", ["+8618612345678", "+8617012345678", "+447911123456", "+5511987654321",
                                    "+14155552671"], ids=["cn", "cn-virtual-operator", "uk", "brazil",
                                                           "us-fixed-line-or-mobile"])
def test_mobile_numbers_get_codes_where_a_country_cannot_tell_them_apart_too(lc, outbox, number):
    assert lc.post(URL, {"mobilePhoneNumber": number}).status_code == 200
    assert outbox.messages(number)


def test_a_missing_number_is_212(lc):
    assert_error(lc.post(URL, {}), Errors.PHONE_MISSING)


def test_international_numbers_need_the_switch(lc, app, outbox):
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671"})
    assert_error(response, Errors.BAD_REQUEST, INTERNATIONAL_DISABLED)
    app.international_sms_enabled = True
    app.save()
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671"})
    assert response.status_code == 200
    assert outbox.messages("+14155552671")


def test_hong_kong_counts_as_international(lc):
    assert_error(lc.post(URL, {"mobilePhoneNumber": "+85291234567"}), Errors.BAD_REQUEST, INTERNATIONAL_DISABLED)


def test_voice_codes_speak_six_digits_to_mainland_numbers(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"})
    assert response.status_code == 200
    [call] = outbox.messages(phone)
    assert call["channel"] == "voice"
    digits = call["text"].split(" ")
    assert len(digits) == 6 and all(d.isdigit() for d in digits)
    assert Message.objects.get(phone=phone).channel == "voice"


@pytest.mark.app(international_sms_enabled=True)
def test_voice_is_mainland_only(lc):
    response = lc.post(URL, {"mobilePhoneNumber": "+14155552671", "smsType": "voice"})
    assert_error(response, Errors.BAD_REQUEST, "Voice verification codes can only be sent to mainland China numbers.")


def test_unknown_sms_type_is_refused(lc):
    response = lc.post(URL, {"mobilePhoneNumber": unique_phone(), "smsType": "fax"})
    assert_error(response, Errors.BAD_REQUEST, "smsType must be 'sms' or 'voice'.")


@pytest.mark.parametrize("ttl", ["0", "-1", "abc", 1441, True])
def test_a_bad_ttl_is_refused(lc, outbox, ttl):
    response = lc.post(URL, {"mobilePhoneNumber": unique_phone(), "ttl": ttl})
    assert_error(response, Errors.BAD_REQUEST, "ttl must be a whole number from 1 to 1440.")
    assert outbox.messages() == []


def test_an_unknown_template_is_604(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "template": "activity", "sign": "sign", "date": "2014 年 10 月 31 号"})
    assert_error(response, Errors.TEMPLATE_NOT_FOUND)
    assert outbox.messages() == []


@pytest.mark.app(sms_code_service_enabled=False)
def test_the_generic_code_service_can_be_switched_off(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert_error(response, Errors.OPERATION_FORBIDDEN)
    assert_error(lc.post("/1.1/verifySmsCode/123456", {"mobilePhoneNumber": phone}), Errors.OPERATION_FORBIDDEN)
    assert outbox.messages() == []


def test_a_failed_write_counts_no_limit(lc, outbox, monkeypatch):
    """Bad input loses nothing: a request that fails after the limit check gives its hit back."""
    from sms import sending

    phone = unique_phone()
    original = sending._write

    def failing(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(sending, "_write", failing)
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone}), Errors.INTERNAL)
    monkeypatch.setattr(sending, "_write", original)
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert not Message.objects.filter(phone=phone, status=MessageStatus.ACCEPTED).exists()
    assert len(outbox.messages(phone)) == 1


@pytest.mark.app(force_captcha=True)
def test_an_app_forcing_captcha_refuses_a_request_without_validate_token(lc, outbox):
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone})
    assert_error(response, Errors.MISSING_VALIDATE_TOKEN)
    assert outbox.messages() == []
    assert not Message.objects.exists()


# --- the signature an app signs with -------------------------------------------------------------------

LONG_NAME = "天东商城股份有限公司华东区域分公司移动互联网事业部会员服务中心短信平台"  # 34 characters


def test_an_app_name_over_32_characters_never_makes_an_sms_call_500(app_with, client_of, outbox):
    """Names go up to 100 characters; a send record's signature holds 32. An app signs with an approved
    signature of at most 20 characters: made from its name, or renamed later, it sends (on both databases)."""
    assert len(LONG_NAME) > 32
    app = app_with(name=LONG_NAME)
    lc = client_of(app)
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    [message] = Message.objects.filter(phone=phone)
    assert message.signature == LONG_NAME[:20]
    assert outbox.messages(phone)[0]["text"].startswith(f"【{LONG_NAME[:20]}】")

    renamed = app_with(name="天东商城", limit_interval_seconds=0, limit_per_minute=0)
    renamed.name = LONG_NAME
    renamed.save()  # as an old row might have been saved: without full_clean's checks
    other = unique_phone()
    for body in ({"mobilePhoneNumber": other}, {"mobilePhoneNumber": other, "smsType": "voice"}):
        assert client_of(renamed).post(URL, body).status_code == 200, body
    assert set(Message.objects.filter(phone=other).values_list("signature", flat=True)) == {"天东商城"}
