"""Twilio and Aliyun as a deployment uses them: carrier rows and a route, a code requested through
the API, delivered through the adapter to a local server that answers as the carrier does, and the
carrier's delivery report posted to /carriers/<name>/receipts moving the send record."""
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client

from sms.models import MessagePart, MessageStatus, Receipt
from tests.factories import AppFactory
from tests.sms.carrier_support import make_carrier, make_route
from tests.support import LeanCloudClient, unique_phone

from .fake_aliyun import KEY_ID, KEY_SECRET, SIGN, TEMPLATE, FakeAliyun
from .fake_twilio import ACCOUNT_SID, AUTH_TOKEN, OWNED_NUMBER, FakeTwilio

pytestmark = pytest.mark.django_db
PUBLIC = "https://sms.example.com"
TOKEN = "rcpt_4f9c2d7e1a8b3c6d"


@pytest.fixture(autouse=True)
def public_base(settings):
    settings.SMS_CALLBACK_BASE_URL = PUBLIC


@pytest.fixture
def twilio():
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def aliyun():
    server = FakeAliyun().start()
    yield server
    server.stop()


def request_code(app, capture) -> str:
    phone = unique_phone()
    response = LeanCloudClient(app, capture=capture).post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone})
    assert response.status_code == 200, response.content
    return phone


def post_to_callback(url: str, data, **headers):
    """What the carrier posts to the URL it was given, as the service receives it behind its proxy."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Client(enforce_csrf_checks=True).post(path, data=data, **headers)


def test_a_code_goes_out_through_twilio_and_its_status_callback_delivers_it(
        twilio, django_capture_on_commit_callbacks):
    make_route([make_carrier("twilio-us", "twilio", username=ACCOUNT_SID, secret=AUTH_TOKEN,
                             **{"from": OWNED_NUMBER, "api_base": twilio.base_url})])
    phone = request_code(AppFactory(), django_capture_on_commit_callbacks)
    [sent] = [r for r in twilio.resources.values() if r["to"] == phone]
    assert "验证码是：" in sent["body"] and sent["_status_callback"] == f"{PUBLIC}/carriers/twilio-us/receipts"
    part = MessagePart.objects.get(message__phone=phone)
    assert part.message.status == MessageStatus.WAITING_RECEIPT and part.carrier_message_id == sent["sid"]
    assert "******" in part.message.text and sent["body"] not in part.message.text  # no code at rest

    url, fields, signature = twilio.status_callback(sent["sid"], "delivered")
    forged = post_to_callback(url, fields, HTTP_X_TWILIO_SIGNATURE="bm90IHRoZSBzaWduYXR1cmU=")
    assert forged.status_code == 403 and not Receipt.objects.exists()
    part.message.refresh_from_db()
    assert part.message.status == MessageStatus.WAITING_RECEIPT

    assert post_to_callback(url, fields, HTTP_X_TWILIO_SIGNATURE=signature).status_code in (200, 204)
    part.message.refresh_from_db()
    assert part.message.status == MessageStatus.DELIVERED


def test_a_code_goes_out_through_aliyun_and_its_report_push_fails_it(aliyun, django_capture_on_commit_callbacks):
    make_route([make_carrier("aliyun-cn", "aliyun", username=KEY_ID, secret=KEY_SECRET, template=TEMPLATE, sign=SIGN,
                             endpoint=f"127.0.0.1:{aliyun.port}", protocol="http", callback_token=TOKEN)])
    phone = request_code(AppFactory(), django_capture_on_commit_callbacks)
    [sent] = [s for s in aliyun.sent if s["phone"] == phone.removeprefix("+86")]
    message = MessagePart.objects.get(message__phone=phone).message
    assert message.status == MessageStatus.WAITING_RECEIPT

    report = aliyun.report(sent["biz_id"], success=False, err_code="MK:0001", err_msg="运营商拒收")
    body = json.dumps([report], ensure_ascii=False)
    receipts_url = f"{PUBLIC}/carriers/aliyun-cn/receipts"
    wrong = post_to_callback(receipts_url + "?token=guess", body, content_type="application/json")
    assert wrong.status_code == 403 and not Receipt.objects.exists()

    answer = post_to_callback(f"{receipts_url}?token={TOKEN}", body, content_type="application/json")
    assert answer.status_code == 200 and json.loads(answer.content) == {"code": 0, "msg": "成功"}
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERY_FAILED and message.error_code == "MK:0001"
