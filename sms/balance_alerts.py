"""The low-balance alert: one email and one SMS to an account's owner when a charge takes its money
below the threshold it set (`accounts.services.money` decides that it is the one charge that did).

The SMS goes through smsplatform itself, from its own account (whose messages are free), signed
with PLATFORM_SMS_SIGNATURE; its send record is written here and delivered like any other.
"""
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import balances
from accounts.services.app_settings import platform_app
from templates_review.rendering import signed

from .models import Category, Channel, Message
from .segments import billed_parts
from .send_records import seal_for_delivery

logger = logging.getLogger(__name__)


def alert_text(account: Account, spendable) -> str:
    return (f"您的账户 {account.name} 可用余额 {spendable:.2f}，已低于提醒阈值 {account.low_balance_threshold:.2f}，"
            f"请及时充值。")


def send_low_balance_alert(account_id: int) -> Message | None:
    """Email the account's address and write the SMS to its owner's number (the caller queues its
    delivery); the SMS's send record, or None when the account has no number."""
    account = Account.objects.get(pk=account_id)
    spendable = balances(account_id).spendable
    text = alert_text(account, spendable)
    if account.email:
        try:
            send_mail(f"smsplatform: the balance of {account.name} is low", text, None, [account.email])
        except Exception:  # the SMS still goes; the mail server's failure is in the log
            logger.exception("Could not email the low-balance alert of account %s", account_id)
    if not account.phone:
        return None
    app = platform_app()
    signature = settings.PLATFORM_SMS_SIGNATURE
    full = signed(text, signature)
    with transaction.atomic():
        return Message.objects.create(
            app=app, phone=account.phone, channel=Channel.SMS, category=Category.NOTIFICATION, purpose="",
            template="low_balance", signature=signature, text=full, sealed=seal_for_delivery(text=full, code=""),
            billed_parts=billed_parts(full), created_at=timezone.now(),
        )
