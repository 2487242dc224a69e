"""Billing staff and charged send records, as the billing console's tests need them.

`billing_staff()` is a staff user of the "Billing staff" group (made by sms migration 0006, and made
again as it makes it after a transactional test flushed the database). `charged(...)` is a send
record with its charge in the ledger, written by the service that charges an accepted message
(`accounts.services.money.charge`), so purses and ledger agree; `refund(...)` gives it back as a
call failed does.
"""
import importlib
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.services import money
from sms.models import Message, MessageStatus
from tests.factories import MessageFactory, set_balances, staff_user

GROUP_MIGRATION = "sms.migrations.0006_billing_staff_group"


def billing_group() -> Group:
    migration = importlib.import_module(GROUP_MIGRATION)
    group = Group.objects.filter(name=migration.GROUP).first()
    if group is None:
        group = Group.objects.create(name=migration.GROUP)
        group.permissions.set([Permission.objects.get(content_type__app_label=app, content_type__model=model,
                                                      codename=codename)
                               for app, model, codename in migration.PERMISSIONS])
    return group


def billing_staff(username: str = "billing", password: str | None = None):
    """A staff user of the Billing staff group; without `password` it cannot log in (`force_login` it)."""
    return staff_user(username, billing_group(), password, domain="billing.example")


def no_free_quota(account) -> None:
    """Every part costs money from now on."""
    set_balances(account, free_sms=0)


def charged(app, *, unit_price="0.0500", parts=1, status=MessageStatus.DELIVERED, free=False, **fields) -> Message:
    """A send record of `app` in `status`, charged `parts` × `unit_price` (the free quota first when `free`)."""
    message = MessageFactory(app=app, billed_parts=parts, status=status, **fields)
    with transaction.atomic():
        money.charge(account_id=app.account_id, app_id=app.pk, message_id=message.pk, parts=parts,
                     unit_price=Decimal(unit_price), free_eligible=free)
    return message


def refund(message: Message) -> None:
    """The message ends call failed and what paid for it is given back."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.CALL_FAILED)
        money.refund(message_ids=[message.pk], reason="call failed")
    message.refresh_from_db()


def bulk_charged(app, rows) -> list[Message]:
    """Many send records of `app` at once, each with its charge entry (`unit_price` × parts) and the
    purses moved by the same total, so that the ledger still adds up: `rows` are dicts of Message
    fields plus `unit_price`. Only for volumes the one-by-one `charged` would make slow."""
    from accounts.models import LedgerEntry, LedgerKind, Purse

    prices = [Decimal(row.pop("unit_price", "0.0500")) for row in rows]
    messages = Message.objects.bulk_create([Message(app=app, text=f"【{app.name}】验证码：******", **row) for row in rows])
    costs = [price * message.billed_parts for price, message in zip(prices, messages)]
    with transaction.atomic():
        LedgerEntry.objects.bulk_create([
            LedgerEntry(account_id=app.account_id, kind=LedgerKind.CHARGE, balance=-cost, app=app, message_id=message.pk,
                        created_at=message.created_at)
            for cost, message in zip(costs, messages)])
        purse = Purse.objects.select_for_update().get(account_id=app.account_id, slot=0)
        purse.balance -= sum(costs, Decimal("0"))
        purse.save(update_fields=["balance"])
    return messages
