from datetime import timedelta

import pytest
from django.utils import timezone

from sms import delivery, send_records, tasks
from sms.models import Message, MessageStatus
from tests.factories import AppFactory, MessageFactory
from tests.support import unique_phone

pytestmark = pytest.mark.django_db


def test_delivery_is_idempotent(outbox):
    message = MessageFactory()
    delivery.deliver_messages([message.id])
    delivery.deliver_messages([message.id])
    assert len(outbox.messages(message.phone)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.attempts == 1


def test_a_batch_is_delivered_with_one_result_each(outbox):
    app = AppFactory()
    messages = [MessageFactory(app=app) for _ in range(5)]
    delivery.deliver_messages([m.id for m in messages])
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 5
    refs = set(Message.objects.values_list("carrier_message_id", flat=True))
    assert len(refs) == 5 and {m["carrier_message_id"] for m in outbox.messages()} == refs


def test_a_verified_message_is_not_moved_back_by_a_late_result():
    message = MessageFactory(status=MessageStatus.VERIFIED)
    send_records.record_deliveries([send_records.Final(message.id, MessageStatus.DELIVERED, "console")], [])
    message.refresh_from_db()
    assert message.status == MessageStatus.VERIFIED


def test_a_failing_carrier_call_marks_the_batch_call_failed(settings, tmp_path):
    settings.SMS_CONSOLE_OUTBOX = str(tmp_path / "no-such-dir" / "outbox.jsonl")  # the carrier cannot write
    message = MessageFactory()
    delivery.deliver_messages([message.id])
    message.refresh_from_db()
    assert message.status == MessageStatus.CALL_FAILED
    assert "No such file" in message.error


def test_stalled_messages_are_queued_again_and_sent_once(outbox):
    app = AppFactory()
    old = MessageFactory(app=app, created_at=timezone.now() - timedelta(minutes=5))
    fresh = MessageFactory(app=app)
    assert tasks.requeue_stalled_messages() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == MessageStatus.DELIVERED
    assert fresh.status == MessageStatus.ACCEPTED
    assert tasks.requeue_stalled_messages() == 0
    assert len(outbox.messages(old.phone)) == 1


def test_a_broker_outage_does_not_fail_the_request(lc, outbox, monkeypatch):
    from sms.delivery_queue import RedisDeliveryQueue

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver_messages, "delay", broker_down)
    monkeypatch.setattr(RedisDeliveryQueue, "push", broker_down)
    phone = unique_phone()
    assert lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone}).status_code == 200
    assert Message.objects.get(phone=phone).status == MessageStatus.ACCEPTED
    monkeypatch.undo()
    Message.objects.filter(phone=phone).update(created_at=timezone.now() - timedelta(minutes=1))
    tasks.requeue_stalled_messages()
    assert Message.objects.get(phone=phone).status == MessageStatus.DELIVERED
    assert len(outbox.messages(phone)) == 1


def test_the_delivery_queue_hands_ids_over_in_batches(outbox):
    from sms.delivery_queue import get_delivery_queue

    queue = get_delivery_queue()
    if queue is None:
        pytest.skip("without Redis, accepted messages go straight to delivery")
    app = AppFactory()
    messages = [MessageFactory(app=app) for _ in range(7)]
    queue.push([m.id for m in messages])
    assert queue.wait(1.0) == messages[0].id
    assert queue.take(3) == [m.id for m in messages[1:4]]
    taken = [messages[0].id, *[m.id for m in messages[1:4]], *queue.take(500)]
    assert delivery.deliver_messages(taken) == 7
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 7
    assert delivery.deliver_messages([messages[0].id]) == 0  # a message queued twice is taken, not sent, twice
    assert len(outbox.messages()) == 7
