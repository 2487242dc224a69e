"""Receipts: found by carrier and message id, held when they beat the submit answer, duplicates
change nothing, unknown ids are logged and kept; the receipt timeout."""
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from sms import delivery, send_records, tasks
from sms.carriers import CarrierReceipt
from sms.carriers.registry import get_registry
from sms.models import Message, MessagePart, MessageStatus, PartStatus, Receipt, ReceiptState
from sms.receipt_writer import receipt_writer
from tests.factories import AppFactory
from tests.sms.carrier_support import accepted, make_carrier, make_route

pytestmark = pytest.mark.django_db


def sent_one(carrier, **kwargs):
    message = accepted(AppFactory(), **kwargs)
    delivery.deliver_messages([message.id])
    message.refresh_from_db()
    return message, list(MessagePart.objects.filter(message=message).values_list("carrier_message_id", flat=True))


def status(message):
    message.refresh_from_db()
    return message.status


def test_receipts_move_records_to_delivered_and_delivery_failed():
    carrier = make_carrier("c")
    make_route([carrier])
    ok, [ok_id] = sent_one(carrier)
    bad, [bad_id] = sent_one(carrier)
    assert ok.status == bad.status == MessageStatus.WAITING_RECEIPT
    counts = send_records.write_receipts(carrier.id, [CarrierReceipt(ok_id, True, raw="stat:DELIVRD"),
                                                      CarrierReceipt(bad_id, False, "UNDELIV", raw="stat:UNDELIV")])
    assert counts == {"applied": 2, "held": 0, "duplicate": 0}
    assert status(ok) == MessageStatus.DELIVERED and ok.finished_at >= ok.submitted_at
    assert status(bad) == MessageStatus.DELIVERY_FAILED and bad.error_code == "UNDELIV" and bad.billed
    receipt = Receipt.objects.get(carrier_message_id=ok_id)
    assert receipt.state == ReceiptState.APPLIED and receipt.message_id == ok.id and receipt.delay_ms is not None


def test_a_duplicate_receipt_changes_nothing():
    carrier = make_carrier("c")
    make_route([carrier])
    message, [part] = sent_one(carrier)
    send_records.write_receipts(carrier.id, [CarrierReceipt(part, True)])
    counts = send_records.write_receipts(carrier.id, [CarrierReceipt(part, False, "EXPIRED")])
    assert counts["duplicate"] == 1
    assert status(message) == MessageStatus.DELIVERED and message.error_code == ""
    assert Receipt.objects.filter(carrier_message_id=part).count() == 2  # kept, marked duplicate
    # a duplicate within one batch too
    other, [part2] = sent_one(carrier)
    counts = send_records.write_receipts(carrier.id, [CarrierReceipt(part2, False, "X"), CarrierReceipt(part2, True)])
    assert counts == {"applied": 1, "held": 0, "duplicate": 1}
    assert status(other) == MessageStatus.DELIVERY_FAILED


def test_a_multi_part_message_is_delivered_when_all_parts_are_and_failed_when_one_fails():
    carrier = make_carrier("c", parts=3)
    make_route([carrier])
    whole, parts = sent_one(carrier)
    assert whole.wire_parts == 3 and len(parts) == 3
    send_records.write_receipts(carrier.id, [CarrierReceipt(parts[0], True), CarrierReceipt(parts[2], True)])
    assert status(whole) == MessageStatus.WAITING_RECEIPT
    send_records.write_receipts(carrier.id, [CarrierReceipt(parts[1], True)])
    assert status(whole) == MessageStatus.DELIVERED
    broken, parts = sent_one(carrier)
    send_records.write_receipts(carrier.id, [CarrierReceipt(parts[1], False, "UNDELIV")])
    assert status(broken) == MessageStatus.DELIVERY_FAILED


@pytest.mark.django_db(transaction=True)  # the receipt writer writes on its own thread and connection
def test_a_receipt_that_arrives_before_the_submit_answer_is_held_and_applied_once_the_parts_are_written():
    carrier = make_carrier("c", receipts="delivered", receipts_first="true")
    make_route([carrier])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])  # the fake hands its receipt to the sink before it answers
    # The writer may have run before the parts were written (held, then applied by the submit's
    # record) or after (found at once): either way the record ends delivered.
    assert receipt_writer().flush()
    assert status(message) == MessageStatus.DELIVERED
    assert Receipt.objects.get(message=message).state == ReceiptState.APPLIED


def test_a_held_receipt_is_applied_by_the_submit_that_names_its_id():
    carrier = make_carrier("c")
    make_route([carrier])
    counts = send_records.write_receipts(carrier.id, [CarrierReceipt("c-early", True, raw="early")])
    assert counts["held"] == 1
    assert Receipt.objects.get(carrier_message_id="c-early").state == ReceiptState.HELD
    message = accepted(AppFactory())
    send_records.claim([message.id])
    send_records.record_deliveries([send_records.Final(message.id, MessageStatus.WAITING_RECEIPT, "c", carrier.id,
                                                       ("c-early",), 1, attempts=1)], [])
    assert status(message) == MessageStatus.DELIVERED
    receipt = Receipt.objects.get(carrier_message_id="c-early")
    assert receipt.state == ReceiptState.APPLIED and receipt.message_id == message.id


def test_the_sweep_applies_held_receipts_and_keeps_unknown_ids_after_the_hold(settings, caplog):
    carrier = make_carrier("c")
    make_route([carrier])
    send_records.write_receipts(carrier.id, [CarrierReceipt("c-later", True), CarrierReceipt("c-never", False)])
    message = accepted(AppFactory())
    send_records.claim([message.id])
    # The part is written by another process's transaction that missed the held receipt.
    Message.objects.filter(id=message.id).update(status=MessageStatus.WAITING_RECEIPT, submitted_at=timezone.now())
    MessagePart.objects.create(message=message, carrier=carrier, carrier_message_id="c-later")
    Receipt.objects.filter(carrier_message_id="c-never").update(received_at=timezone.now() - timedelta(hours=2))
    with caplog.at_level(logging.WARNING, logger="sms.send_records"):
        counts = tasks.apply_held_receipts()
    assert counts["applied"] == 1 and counts["unknown"] == 1
    assert status(message) == MessageStatus.DELIVERED
    assert Receipt.objects.get(carrier_message_id="c-never").state == ReceiptState.UNKNOWN
    assert "unknown message id 'c-never'" in caplog.text
    assert tasks.apply_held_receipts()["unknown"] == 0  # kept, not logged again


def test_records_waiting_past_the_receipt_timeout_stay_waiting_with_a_reason(settings):
    carrier = make_carrier("c")
    make_route([carrier])
    old, _ = sent_one(carrier)
    fresh, _ = sent_one(carrier)
    Message.objects.filter(id=old.id).update(submitted_at=timezone.now() - timedelta(hours=73))
    assert tasks.expire_waiting_receipts() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == MessageStatus.WAITING_RECEIPT and old.finished_at and old.error == "no receipt within 72 h"
    assert fresh.finished_at is None
    assert tasks.expire_waiting_receipts() == 0


@pytest.mark.django_db(transaction=True)
def test_the_receipt_writer_writes_what_adapters_hand_it_in_batches():
    carrier = make_carrier("c", receipts="failed")
    make_route([carrier])
    app = AppFactory()
    messages = [accepted(app) for _ in range(5)]
    delivery.deliver_messages([m.id for m in messages])
    adapter = get_registry().adapter(get_registry().snapshot().by_name("c"))
    adapter.release_receipts()  # its receipts arrive later, on the adapter's own thread in real life
    assert receipt_writer().flush()
    assert Message.objects.filter(status=MessageStatus.DELIVERY_FAILED).count() == 5
    assert MessagePart.objects.filter(status=PartStatus.FAILED).count() == 5
