"""/carriers/<name>/receipts: an HTTP carrier's delivery reports, through its adapter."""
import json

import pytest
from django.test import Client

from sms import delivery
from sms.callbacks import callback_url
from sms.models import MessagePart, MessageStatus, Receipt
from tests.factories import AppFactory
from tests.sms.carrier_support import accepted, make_carrier, make_route

pytestmark = pytest.mark.django_db


def post(name, body, **headers):
    client = Client(enforce_csrf_checks=True)
    return client.post(f"/carriers/{name}/receipts", json.dumps(body), content_type="application/json", **headers)


def test_a_report_moves_the_record_through_the_receipt_service():
    carrier = make_carrier("hook", token="s3cret")
    make_route([carrier])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    part = MessagePart.objects.get(message=message).carrier_message_id
    response = post("hook", {"reports": [{"id": part, "delivered": True}]}, HTTP_X_TOKEN="s3cret")
    assert response.status_code == 200 and response.json() == {"ok": True}  # the adapter's own answer
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert Receipt.objects.get(carrier_message_id=part).message_id == message.id


def test_a_forged_report_is_403_and_changes_nothing():
    carrier = make_carrier("hook", token="s3cret")
    make_route([carrier])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    part = MessagePart.objects.get(message=message).carrier_message_id
    response = post("hook", {"reports": [{"id": part, "delivered": True}]}, HTTP_X_TOKEN="guess")
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.WAITING_RECEIPT and not Receipt.objects.exists()


def test_an_unknown_or_disabled_carrier_is_404():
    make_carrier("off", enabled=False)
    assert post("nobody", {}).status_code == 404
    assert post("off", {}).status_code == 404


def test_a_carrier_without_callbacks_is_404_and_a_malformed_report_never_a_traceback():
    make_carrier("plain")
    response = post("console", {})
    assert response.status_code == 404
    response = post("plain", {"boom": 1})
    assert response.status_code == 400 and b"Traceback" not in response.content


def test_the_url_carriers_are_given(settings):
    settings.SMS_CALLBACK_BASE_URL = "https://sms.example.com"
    assert callback_url("twilio-main") == "https://sms.example.com/carriers/twilio-main/receipts"
