"""What a message costs and who pays: prices per country calling code, the charge that joins the
accepting transaction, the daily spend cap. (The refund of a message that ends "call failed" is
written by `send_records` with the status.)

The money itself moves in `accounts.services.money`; this module knows messages.
"""
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.services import money
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.phone import is_mainland_china

from .models import Channel, Message, Price
from .routing import country_calling_code
from .sending_limits import app_day
from .tasks import send_low_balance_alert

# Seeded into an empty price table (billing staff change them in the admin): per part, per call for voice.
DEFAULT_PRICES = {
    ("86", Channel.SMS): "0.0500", ("86", Channel.VOICE): "0.1000",
    ("852", Channel.SMS): "0.3500", ("853", Channel.SMS): "0.3500", ("886", Channel.SMS): "0.3500",
    ("1", Channel.SMS): "0.0800", ("44", Channel.SMS): "0.3000", ("81", Channel.SMS): "0.5000",
    ("82", Channel.SMS): "0.2500", ("65", Channel.SMS): "0.2500", ("61", Channel.SMS): "0.3500",
    ("49", Channel.SMS): "0.5000", ("33", Channel.SMS): "0.5000", ("7", Channel.SMS): "0.4000",
    ("55", Channel.SMS): "0.2000", ("52", Channel.SMS): "0.2500", ("91", Channel.SMS): "0.0600",
    ("62", Channel.SMS): "0.2500", ("60", Channel.SMS): "0.2000", ("63", Channel.SMS): "0.1500",
    ("66", Channel.SMS): "0.1500", ("84", Channel.SMS): "0.2000",
}


def no_price_text(country_code: str, channel: str) -> str:
    kind = "voice calls" if channel == Channel.VOICE else "SMS"
    return f"Fails to send message: no price is set for {kind} to +{country_code or '?'}."


def seed_default_prices(**kwargs) -> None:
    """An empty price table gets `DEFAULT_PRICES` (after migrate, and after a test database is flushed)."""
    if not Price.objects.exists():
        Price.objects.bulk_create([Price(country_code=code, channel=channel, unit_price=Decimal(price))
                                   for (code, channel), price in DEFAULT_PRICES.items()])


class _PriceTable:
    """The price table as this process read it at most APP_CACHE_SECONDS ago (edits in this process
    apply at once)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._prices: dict[tuple[str, str], Decimal] = {}

    def get(self, country_code: str, channel: str) -> Decimal | None:
        if time.monotonic() - self._read_at >= settings.APP_CACHE_SECONDS:
            prices = {(code, ch): price for code, ch, price in Price.objects.values_list("country_code", "channel", "unit_price")}
            with self._lock:
                self._prices, self._read_at = prices, time.monotonic()
        return self._prices.get((country_code, channel))

    def forget(self) -> None:
        self._read_at = float("-inf")


prices = _PriceTable()


@receiver(post_save, sender=Price)
@receiver(post_delete, sender=Price)
def _price_changed(**kwargs):
    prices.forget()


def unit_price(*, phone: str, channel: str) -> Decimal:
    """The price of one part (one call) to `phone`, or 602 when its destination has none."""
    code = country_calling_code(phone)
    price = prices.get(code, channel)
    if price is None:
        raise LeanCloudError(Errors.SMS_SEND_FAILED, no_price_text(code, channel))
    return price


def charge_message(*, app, message: Message, price: Decimal) -> money.Charge:
    """Charge the app's account for `message` in the accepting transaction (160 when it cannot pay,
    154 past the app's daily spend cap): the free domestic quota first, then the gift balance, then
    the balance. (smsplatform's own alerts are written by `sms.balance_alerts` and never charged.)
    When the charge takes the account below its alert threshold, the alert goes out once the
    transaction commits."""
    parts = message.billed_parts if message.channel == Channel.SMS else 1
    paid = money.charge(
        account_id=app.account_id, app_id=app.pk, message_id=message.pk, parts=parts, unit_price=price,
        free_eligible=message.channel == Channel.SMS and is_mainland_china(message.phone),
    )
    if app.daily_spend_cap is not None:
        money.count_spend(app=app, day=app_day(app, message.created_at), amount=paid.amount)
    if paid.alert:
        account_id = app.account_id
        transaction.on_commit(lambda: send_low_balance_alert.delay(account_id))
    return paid

