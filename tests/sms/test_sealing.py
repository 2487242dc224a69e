"""Security review item 1: no live code at rest in clear. The send record keeps the text with its
code masked from the moment it is written; the clear text waits sealed and is cleared on submit; no
code in the admin, the logs or any answer."""
import logging

import pytest
from django.contrib.auth.models import User

from sms.models import Message, MessageStatus
from smsplatform import sealing
from tests.sms.carrier_support import make_carrier, make_route
from tests.support import unique_phone

pytestmark = pytest.mark.django_db
URL = "/1.1/requestSmsCode"


def test_the_record_never_holds_the_code_in_clear_even_before_it_is_sent(lc, app, outbox, django_capture_on_commit_callbacks):
    phone = unique_phone()
    with django_capture_on_commit_callbacks(execute=False):  # accepted, not yet delivered
        response = lc.client.post(URL, data=f'{{"mobilePhoneNumber": "{phone}"}}', content_type="application/json",
                                  **lc.headers({}))
    assert response.status_code == 200
    message = Message.objects.get(phone=phone)
    assert message.status == MessageStatus.ACCEPTED
    assert "******" in message.text and not any(ch.isdigit() for ch in message.text.split("验证码是：")[1][:6])
    clear = sealing.unseal_json(message.sealed)
    assert clear["t"].replace(clear["c"], "******") == message.text and len(clear["c"]) == 6
    assert clear["c"] not in message.sealed  # sealed, not merely encoded


def test_the_sealed_text_is_cleared_when_the_submit_is_recorded_and_the_carrier_got_it_whole(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    message = Message.objects.get(phone=phone)
    assert message.status == MessageStatus.DELIVERED and message.sealed is None
    code = outbox.last_code(phone)
    assert code not in message.text and outbox.messages(phone)[0]["text"] == message.text.replace("******", code)


def test_a_voice_code_is_masked_too(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"}).status_code == 200
    message = Message.objects.get(phone=phone)
    assert message.text == "* * * * * *" and message.sealed is None
    assert len(outbox.last_code(phone)) == 6


def test_a_call_failed_message_drops_its_sealed_text_too(lc):
    make_route([make_carrier("down", outcome="raise")])
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    message = Message.objects.get(phone=phone)
    assert message.status == MessageStatus.CALL_FAILED and message.sealed is None


def test_no_code_in_the_logs_the_answers_or_the_admin(lc, outbox, caplog, client):
    phone = unique_phone()
    with caplog.at_level(logging.DEBUG):
        response = lc.post(URL, {"mobilePhoneNumber": phone, "op": "登录"})
    code = outbox.last_code(phone)
    assert response.status_code == 200 and code not in response.content.decode()
    assert code not in caplog.text
    message = Message.objects.get(phone=phone)
    User.objects.create_superuser("billing", "b@example.com", "pw")
    client.login(username="billing", password="pw")
    for url in ("/admin/sms/message/", f"/admin/sms/message/{message.id}/change/",
                f"/admin/sms/message/?q={phone}"):
        page = client.get(url)
        assert page.status_code == 200
        assert code not in page.content.decode(), url


def test_sealing_keys_rotate_new_first_old_still_opens(settings):
    old = sealing.sealing_key_from_secret("old secret")
    from cryptography.fernet import Fernet

    new = Fernet.generate_key().decode()
    settings.SMS_SEALING_KEYS = [old]
    token = sealing.seal("【X】123456")
    settings.SMS_SEALING_KEYS = [new, old]
    assert sealing.unseal(token) == "【X】123456"
    settings.SMS_SEALING_KEYS = [new]
    with pytest.raises(sealing.InvalidToken):
        sealing.unseal(token)
