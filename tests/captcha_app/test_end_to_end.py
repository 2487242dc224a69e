"""A person on a page of an app that forces captcha: sees the image, types what it shows, gets the SMS."""
import pytest

from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.support import LeanCloudClient, assert_error, unique_phone

from .support import answer_of, png_of, relative, request_captcha

pytestmark = pytest.mark.django_db


@pytest.mark.app(force_captcha=True)
def test_a_person_solves_a_captcha_and_receives_one_sms(lc, app, outbox):
    phone = unique_phone()

    captcha = request_captcha(lc, "width=120&height=40")
    image = png_of(LeanCloudClient().get(relative(captcha["captcha_url"])))  # the <img>, without keys
    assert (image.format, image.size) == ("PNG", (120, 40))

    typed = answer_of(captcha["captcha_token"]).lower()  # what the image shows, as the person types it
    verified = lc.post("/1.1/verifyCaptcha", {"captcha_code": typed, "captcha_token": captcha["captcha_token"]})
    assert verified.status_code == 200
    validate_token = verified.json()["validate_token"]

    sent = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone, "validate_token": validate_token})
    assert sent.status_code == 200
    [sms] = outbox.messages(phone)
    assert f"【{app.name}】" in sms["text"]
    code = outbox.last_code(phone)
    assert lc.post(f"/1.1/verifySmsCode/{code}", {"mobilePhoneNumber": phone}).status_code == 200
    assert Message.objects.get(phone=phone).status == MessageStatus.VERIFIED

    # The image is gone once answered, and the token was good for that one SMS only.
    assert_error(LeanCloudClient().get(relative(captcha["captcha_url"])), Errors.NOT_FOUND,
                 "Captcha not found, expired or already answered.")
    again = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone(), "validate_token": validate_token})
    assert_error(again, Errors.MISSING_VALIDATE_TOKEN)
