"""The whole delivery path against the stand-in SMSC over real SMPP on loopback: accepted (through
the API or sms.sending) -> inline delivery -> the SMPP carrier's bind -> SMSC -> receipt on the bind's
thread -> the receipt writer -> the record."""
import re
import threading
import time

import pytest

from sms import sending
from sms.models import AttemptOutcome, DeliveryAttempt, Message, MessagePart, MessageStatus, Receipt, ReceiptState
from templates_review.rendering import ComposedText
from tests.sms.carrier_support import make_carrier, make_route
from tests.smsc import ESME_RSUBMITFAIL, running_smsc
from tests.factories import AppFactory
from tests.support import unique_phone

pytestmark = pytest.mark.django_db(transaction=True)  # the receipt writer writes on its own thread
FAST = {"reconnect_backoff": 0.05, "reconnect_backoff_max": 0.2, "response_timeout": 3, "unreachable_after": 5}


def smpp_carrier(name, smsc, *, password="secret", **params):
    return make_carrier(name, kind="smpp", username="smsp", secret=password, host="127.0.0.1", port=smsc.port,
                        source="Brand", **{**FAST, **params})


def send(app, text="【Brand】您的验证码是：123456", phone=None) -> Message:
    return sending.accept_message(
        app=app, phone=phone or unique_phone(), channel="sms", category="notification", purpose="",
        composed=ComposedText(text=text, masked=text, signature="Brand"), validate_token=None,
    )


def wait_status(message, *statuses, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status in statuses:
            return message
        time.sleep(0.02)
    raise AssertionError(f"message {message.id} is {message.status}, not {statuses}, after {timeout}s")


def seen(smsc, phone):
    return [m for m in smsc.messages() if m["destination"].lstrip("+") == phone.lstrip("+")]


@pytest.fixture
def smsc():
    with running_smsc() as server:
        yield server


@pytest.fixture
def second_smsc():
    with running_smsc() as server:
        yield server


def test_a_code_requested_through_the_api_reaches_the_smsc_and_its_receipt_marks_it_delivered(lc, smsc, outbox):
    make_route([smpp_carrier("smpp-main", smsc)])
    phone = unique_phone()
    assert lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone}).status_code == 200
    message = wait_status(Message.objects.get(phone=phone), MessageStatus.DELIVERED)
    [sent] = seen(smsc, phone)
    code = re.search(r"(\d{6})", sent["text"].split("】", 1)[1]).group(1)
    assert "******" in message.text and sent["text"] == message.text.replace("******", code)
    assert message.carrier == "smpp-main" and message.wire_parts == 1 and message.sealed is None
    part = MessagePart.objects.get(message=message)
    assert part.carrier_message_id == sent["message_ids"][0] == message.carrier_message_id
    assert Receipt.objects.get(message=message).state == ReceiptState.APPLIED
    assert [b["mode"] for b in smsc.binds()] == ["trx"]  # one long-lived bind


def test_a_chinese_text_of_150_characters_goes_in_three_parts_reassembled_whole(smsc):
    make_route([smpp_carrier("smpp-main", smsc)])
    text = ("【Brand】您正在使用验证服务，验证码是一二三四五六，十分钟内有效。" * 6)[:150]
    message = send(AppFactory(), text)
    message = wait_status(message, MessageStatus.DELIVERED)
    [sent] = smsc.wait_messages(1)
    assert sent["text"] == text and sent["parts"] == 3
    assert message.wire_parts == 3 and message.billed_parts == 3
    parts = list(MessagePart.objects.filter(message=message).order_by("part_number"))
    assert [p.carrier_message_id for p in parts] == sent["message_ids"] and len(set(sent["message_ids"])) == 3
    assert Receipt.objects.filter(message=message, state=ReceiptState.APPLIED).count() == 3


def test_receipts_move_statuses_to_delivered_and_delivery_failed():
    with running_smsc(outcomes={"86139": "UNDELIV"}) as smsc:
        make_route([smpp_carrier("smpp-main", smsc)])
        app = AppFactory()
        good = send(app, phone="+8618600000001")
        bad = send(app, phone="+8613900000001")
        assert wait_status(good, MessageStatus.DELIVERED)
        bad = wait_status(bad, MessageStatus.DELIVERY_FAILED)
        assert bad.error_code.startswith("UNDELIV") and bad.billed


def test_a_receipt_arriving_before_the_submit_answer_still_finds_its_record():
    with running_smsc(receipt_before_resp=True) as smsc:
        make_route([smpp_carrier("smpp-main", smsc)])
        app = AppFactory()
        messages = [send(app) for _ in range(5)]
        for message in messages:
            wait_status(message, MessageStatus.DELIVERED)
        assert Receipt.objects.filter(state=ReceiptState.APPLIED).count() == 5


def test_a_refused_bind_fails_over_to_the_next_carrier_with_the_reason_recorded(smsc, second_smsc):
    wrong = smpp_carrier("smpp-wrong", smsc, password="guess", unreachable_after=1)
    make_route([wrong, smpp_carrier("smpp-backup", second_smsc)])
    message = wait_status(send(AppFactory()), MessageStatus.DELIVERED)
    assert message.carrier == "smpp-backup" and message.attempts == 2
    first, second = DeliveryAttempt.objects.filter(message=message).order_by("id")
    assert first.carrier.name == "smpp-wrong" and first.outcome == AttemptOutcome.FAILED
    assert "unreachable" in first.error or "ESME_RINVPASWD" in first.error
    assert second.outcome == AttemptOutcome.ACCEPTED
    assert smsc.messages() == [] and len(second_smsc.messages()) == 1


def test_a_refused_bind_alone_ends_call_failed_with_the_reason(smsc):
    make_route([smpp_carrier("smpp-wrong", smsc, password="guess", unreachable_after=1)])
    message = wait_status(send(AppFactory()), MessageStatus.CALL_FAILED)
    assert message.error and message.sealed is None and smsc.messages() == []


def test_a_rejected_submit_fails_over_to_a_second_carrier(second_smsc):
    with running_smsc(reject={"86": ESME_RSUBMITFAIL}) as rejecting:
        make_route([smpp_carrier("smpp-a", rejecting), smpp_carrier("smpp-b", second_smsc)])
        message = wait_status(send(AppFactory()), MessageStatus.DELIVERED)
        first = DeliveryAttempt.objects.filter(message=message).order_by("id").first()
        assert first.error_code == "0x00000045" and "ESME_RSUBMITFAIL" in first.error
        assert message.carrier == "smpp-b" and len(second_smsc.messages()) == 1


def test_throttling_slows_down_but_fails_nothing_and_sends_each_once():
    with running_smsc(throttle_first=6) as smsc:
        make_route([smpp_carrier("smpp-main", smsc)])
        app = AppFactory()
        messages = [send(app) for _ in range(10)]
        for message in messages:
            wait_status(message, MessageStatus.DELIVERED)
        assert len(smsc.messages()) == 10
        assert len({m["destination"] for m in smsc.messages()}) == 10


def test_the_smsc_going_away_and_coming_back_messages_wait_then_go_once_each(smsc):
    make_route([smpp_carrier("smpp-main", smsc, unreachable_after=20)])
    app = AppFactory()
    wait_status(send(app), MessageStatus.DELIVERED)
    smsc.stop()
    sent = []
    worker = threading.Thread(target=lambda: sent.extend(send(app) for _ in range(3)))
    worker.start()  # inline delivery blocks while the bind reconnects
    time.sleep(1.0)
    assert worker.is_alive()
    smsc.start()
    worker.join(30)
    for message in sent:
        wait_status(message, MessageStatus.DELIVERED)
    phones = [m["destination"] for m in smsc.messages()]
    assert len(phones) == 4 and len(set(phones)) == 4


def test_best_delivery_rate_moves_traffic_from_a_failing_carrier_and_back_when_it_recovers(settings, second_smsc):
    settings.SMS_ROUTE_BUCKET_SECONDS = 1
    settings.SMS_ROUTE_WINDOW_SECONDS = 3
    settings.SMS_ROUTE_EXPLORATION = 0.1
    settings.SMS_ROUTE_PRIOR_WEIGHT = 4
    with running_smsc(outcomes={"86": "UNDELIV"}) as failing:
        make_route([smpp_carrier("smpp-a", failing), smpp_carrier("smpp-b", second_smsc)],
                   strategy="best_delivery_rate")
        app = AppFactory()

        def round_of(n):
            before_a, before_b = len(failing.messages()), len(second_smsc.messages())
            for message in [send(app) for _ in range(n)]:
                wait_status(message, MessageStatus.DELIVERED, MessageStatus.DELIVERY_FAILED)
            return len(failing.messages()) - before_a, len(second_smsc.messages()) - before_b

        settings.SMS_ROUTE_EXPLORATION = 0
        assert round_of(1) == (1, 0)  # no figures yet: the route's order, a first
        settings.SMS_ROUTE_EXPLORATION = 0.1
        round_of(5)  # a's first receipts (whichever carrier each went to, as figures arrive)
        time.sleep(1.1)
        a, b = round_of(30)  # a's receipts say undelivered: most traffic goes to b
        assert b > 2 * a, (a, b)
        failing.configure(outcomes={})  # a recovers; the exploration share brings its good receipts
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            a, b = round_of(20)
            if a > b:
                break
            time.sleep(0.5)
        assert a > b, (a, b)
