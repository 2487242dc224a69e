"""Charging on accept as a developer sees it through the API: the quota order, parts, prices, 160,
the daily spend cap, the refund of a call that failed, the low-balance alert (`sms/charging.py`,
`accounts/services/money.py`)."""
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import LedgerEntry, LedgerKind
from accounts.selectors import Balances, balances
from accounts.services import money
from sms import delivery, send_records
from sms.models import Message, MessageStatus, Price
from sms.segments import billed_parts
from smsplatform.errors import Errors
from tests.factories import set_balances
from tests.support import assert_error, unique_phone

from .carrier_support import make_carrier, make_route

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


def send(lc, phone=None, **body):
    return lc.post(URL, {"mobilePhoneNumber": phone or unique_phone(), **body})


def money_of(app) -> Balances:
    return balances(app.account_id)


def charge_of(message) -> tuple:
    entry = LedgerEntry.objects.get(kind=LedgerKind.CHARGE, message_id=message.id)
    return entry.free_sms, entry.gift, entry.balance


def test_the_free_quota_goes_first_then_the_gift_balance_then_the_balance(lc, app, outbox):
    set_balances(app.account, balance="0.10", gift="0.05", free_sms=1)
    phones = [unique_phone() for _ in range(5)]
    for phone in phones[:4]:
        assert send(lc, phone).status_code == 200
    messages = [Message.objects.get(phone=phone) for phone in phones[:4]]
    assert [charge_of(m) for m in messages] == [
        (-1, 0, 0), (0, Decimal("-0.05"), 0), (0, 0, Decimal("-0.05")), (0, 0, Decimal("-0.05")),
    ]
    assert money_of(app) == Balances(Decimal("0"), Decimal("0"), 0)
    assert_error(send(lc, phones[4]), Errors.INSUFFICIENT_BALANCE)
    assert not Message.objects.filter(phone=phones[4]).exists()
    assert outbox.messages(phones[4]) == []


def test_a_message_of_two_parts_spends_what_is_left_of_the_quota_and_pays_the_rest(lc, app, outbox):
    from templates_review.rendering import signed

    from tests.templates_review.support import approved_template

    approved_template(app, body="{{code}}{{pad}}")
    set_balances(app.account, balance="1", gift="0", free_sms=1)
    signature_and_code = len(signed("123456", app.name))
    phone = unique_phone()
    response = send(lc, phone, template="activity", pad="码" * (71 - signature_and_code))
    assert response.status_code == 200, response.content
    message = Message.objects.get(phone=phone)
    assert len(outbox.messages(phone)[0]["text"]) == 71 and message.billed_parts == 2
    assert charge_of(message) == (-1, 0, Decimal("-0.05"))
    assert money_of(app) == Balances(Decimal("0.95"), Decimal("0"), 0)


@pytest.mark.parametrize("length, parts", [(7, 1), (70, 1), (71, 2), (134, 2), (135, 3), (400, 6)])
@pytest.mark.parametrize("letter", ["a", "码"])
def test_parts_are_70_characters_in_one_and_67_a_part_beyond_the_signature_included(letter, length, parts):
    from templates_review.rendering import signed

    signature = "天东商城"
    text = signed(letter * (length - len(signature) - 2), signature)
    assert len(text) == length and billed_parts(text) == parts


@pytest.mark.app(international_sms_enabled=True)
def test_international_sms_and_voice_calls_are_paid_from_the_first_one(lc, app, outbox, settings):
    set_balances(app.account, balance="1", free_sms=100)
    Price.objects.update_or_create(country_code="44", channel="sms", defaults={"unit_price": Decimal("0.3")})
    assert send(lc, "+447911123456").status_code == 200
    assert money_of(app) == Balances(Decimal("0.7"), Decimal("0"), 100)


def test_a_destination_without_a_price_is_refused_and_nothing_is_counted(lc, app, outbox):
    phone = unique_phone()
    Price.objects.filter(country_code="86", channel="sms").delete()
    assert_error(send(lc, phone), Errors.SMS_SEND_FAILED, "Fails to send message: no price is set for SMS to +86.")
    assert not Message.objects.filter(phone=phone).exists()
    Price.objects.create(country_code="86", channel="sms", unit_price=Decimal("0.05"))
    # Nothing was counted against the number (its 1-per-10-s limit), nor spent.
    assert send(lc, phone).status_code == 200
    assert len(outbox.messages(phone)) == 1


def test_an_account_that_cannot_pay_gets_160_and_nothing_is_counted(lc, app, outbox):
    set_balances(app.account, balance="0.04", free_sms=0)
    phone = unique_phone()
    assert_error(send(lc, phone), Errors.INSUFFICIENT_BALANCE)
    assert not Message.objects.filter(phone=phone).exists() and outbox.messages(phone) == []
    assert money_of(app) == Balances(Decimal("0.04"), Decimal("0"), 0)
    money.recharge(account=app.account, amount="1", reason="top-up")
    assert send(lc, phone).status_code == 200  # the refused request counted nothing against the number


@pytest.mark.app(daily_spend_cap=Decimal("0.10"))
def test_past_the_daily_spend_cap_sends_are_refused_with_154_and_nothing_is_sent(lc, app, outbox):
    set_balances(app.account, balance="10", free_sms=0)
    for _ in range(2):
        assert send(lc).status_code == 200
    phone = unique_phone()
    assert_error(send(lc, phone), Errors.THRESHOLD_EXCEEDED, "Exceeded the app's daily spend cap.")
    assert not Message.objects.filter(phone=phone).exists() and outbox.messages(phone) == []
    assert money_of(app).balance == Decimal("9.90")
    app.daily_spend_cap = Decimal("0.15")
    app.save()
    assert send(lc, phone).status_code == 200


def test_a_message_that_ends_call_failed_is_refunded_once_whatever_retries_happened(lc, app, outbox):
    set_balances(app.account, balance="1", gift="0.05", free_sms=1)
    make_route([make_carrier("down1", outcome="raise"), make_carrier("down2", outcome="raise")])
    phones = [unique_phone() for _ in range(3)]
    for phone in phones:
        assert send(lc, phone).status_code == 200
    messages = list(Message.objects.filter(phone__in=phones))
    assert {m.status for m in messages} == {MessageStatus.CALL_FAILED}
    assert all(m.attempts == 2 for m in messages)  # both carriers were tried
    # Each is refunded to where its charge came from: the quota, the gift balance, the balance.
    assert money_of(app) == Balances(Decimal("1"), Decimal("0.05"), 1)
    # Asked again (a worker settling the same records, a delivery run twice): nothing more comes back.
    ids = [m.id for m in messages]
    send_records.settle_lost(ids)
    delivery.deliver_messages(ids)
    assert money.refund(message_ids=ids, reason="again") == 0
    assert money_of(app) == Balances(Decimal("1"), Decimal("0.05"), 1)
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND, message_id__in=ids).count() == 3
    assert money.ledger_differences() == []


def test_a_delivered_message_stays_charged(lc, app, outbox):
    set_balances(app.account, balance="1", free_sms=0)
    phone = unique_phone()
    assert send(lc, phone).status_code == 200
    assert Message.objects.get(phone=phone).status == MessageStatus.DELIVERED
    assert money_of(app).balance == Decimal("0.95")
    assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()


def test_the_low_balance_alert_goes_once_per_crossing_by_email_and_sms(lc, app, outbox):
    account = app.account
    account.email, account.phone, account.low_balance_threshold = "owner@example.com", unique_phone(), Decimal("0.10")
    account.save()
    set_balances(account, balance="0.20", free_sms=0)
    for _ in range(2):  # 0.15, then 0.10: not below yet
        assert send(lc).status_code == 200
    assert mail.outbox == [] and outbox.messages(account.phone) == []
    assert send(lc).status_code == 200  # 0.05: below
    assert send(lc).status_code == 200  # 0.00: still below, no second alert
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    assert "0.10" in mail.outbox[0].body
    alerts = outbox.messages(account.phone)
    assert len(alerts) == 1 and alerts[0]["text"].startswith("【短信平台】")
    alert = Message.objects.get(phone=account.phone)
    assert not LedgerEntry.objects.filter(message_id=alert.id).exists()  # smsplatform's own SMS are free
    # Back above the threshold, then below again: one more alert.
    money.recharge(account=account, amount="0.20", reason="top-up")
    for _ in range(3):
        assert send(lc).status_code == 200
    assert len(mail.outbox) == 2 and len(outbox.messages(account.phone)) == 2
