"""The billing staff's pages of the accounts admin (`accounts/billing_admin.py`): the ledger, read-only,
and "Record a recharge or adjustment", which writes a ledger entry through `accounts.services.money`."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import LedgerEntry, LedgerKind
from accounts.selectors import balances
from accounts.services.money import ledger_differences
from tests.factories import AccountFactory, set_balances
from tests.sms.billing_support import billing_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = billing_staff()
    client.force_login(user)
    client.user = user
    return client


def money_url(account):
    return f"/admin/accounts/account/{account.pk}/money/"


def test_a_recharge_writes_a_ledger_entry_with_who_and_why(staff):
    account = AccountFactory(funded=False)
    page = staff.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    assert f'href="{money_url(account)}"' in page and "Record a recharge or adjustment" in page
    assert f'href="/admin/sms/message/statements/{account.pk}/"' in page

    response = staff.post(money_url(account), {"operation": "recharge", "amount": "250.5", "reason": "bank transfer 8812"})
    assert response.status_code == 302 and response["Location"] == f"/admin/accounts/account/{account.pk}/change/"
    entry = LedgerEntry.objects.filter(account=account).latest("id")
    assert (entry.kind, entry.balance, entry.gift, entry.actor, entry.reason) == (
        LedgerKind.RECHARGE, Decimal("250.5"), Decimal("0"), staff.user, "bank transfer 8812")
    assert balances(account.pk).balance == Decimal("250.5")

    staff.post(money_url(account), {"operation": "gift", "amount": "20", "reason": "promotion"})
    assert LedgerEntry.objects.filter(account=account).latest("id").kind == LedgerKind.GIFT
    assert balances(account.pk).gift_balance == Decimal("20")
    assert ledger_differences() == []


def test_an_adjustment_moves_any_balance_either_way_but_never_below_zero(staff):
    account = AccountFactory(funded=False)
    set_balances(account, balance="10")
    response = staff.post(money_url(account), {"operation": "adjustment", "amount": "-4", "gift_change": "1.5",
                                               "free_sms_change": "-100", "reason": "duplicate recharge"})
    assert response.status_code == 302
    entry = LedgerEntry.objects.filter(account=account).latest("id")
    assert (entry.kind, entry.balance, entry.gift, entry.free_sms, entry.actor) == (
        LedgerKind.ADJUSTMENT, Decimal("-4"), Decimal("1.5"), -100, staff.user)
    now = balances(account.pk)
    assert (now.balance, now.gift_balance, now.free_sms) == (Decimal("6"), Decimal("1.5"), 0)

    count = LedgerEntry.objects.count()
    response = staff.post(money_url(account), {"operation": "adjustment", "amount": "-7", "reason": "too much"})
    assert response.status_code == 200
    assert "That would take the account below zero." in response.content.decode()
    assert LedgerEntry.objects.count() == count and balances(account.pk).balance == Decimal("6")


@pytest.mark.parametrize("form, error", [
    ({"operation": "recharge", "amount": "5", "reason": ""}, "This field is required."),
    ({"operation": "recharge", "amount": "-5", "reason": "x"}, "A recharge or gift is a positive amount"),
    ({"operation": "recharge", "amount": "0.00001", "reason": "x"}, "Ensure that there are no more than 4 decimal places."),
    ({"operation": "adjustment", "amount": "0", "reason": "x"}, "An adjustment changes at least one"),
    ({"operation": "gift", "amount": "5", "free_sms_change": "3", "reason": "x"}, "for adjustments only"),
])
def test_the_form_refuses_what_is_not_a_recharge_or_an_adjustment(staff, form, error):
    account = AccountFactory(funded=False)
    count = LedgerEntry.objects.count()
    response = staff.post(money_url(account), form)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert LedgerEntry.objects.count() == count


def test_recording_money_needs_its_permission(client):
    account = AccountFactory(funded=False)
    viewer = User.objects.create_user("viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_account"))
    client.force_login(viewer)
    assert client.get(money_url(account)).status_code == 403
    assert client.post(money_url(account), {"operation": "recharge", "amount": "5", "reason": "x"}).status_code == 403
    assert "Record a recharge" not in client.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    assert balances(account.pk).balance == 0


def test_balances_are_shown_never_typed(staff):
    account = AccountFactory()
    html = staff.get("/admin/accounts/account/").content.decode()
    assert account.name in html and "100.0000" in html
    change = staff.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    assert 'name="balance"' not in change and 'name="name"' not in change  # view only
    assert staff.post(f"/admin/accounts/account/{account.pk}/change/", {"name": "renamed"}).status_code == 403


def test_the_ledger_is_read_only_and_filters_by_account_kind_and_date(staff):
    first, second = AccountFactory(), AccountFactory()
    html = staff.get("/admin/accounts/ledgerentry/", {"account__id__exact": first.pk, "kind__exact": "recharge"}).content.decode()
    table = html.split('id="result_list"')[1].split("</table>")[0]
    assert "test funds" in table and first.name in table and second.name not in table
    assert first.name in staff.get("/admin/accounts/ledgerentry/", {"created_at__year": timezone.now().year}).content.decode()
    entry = LedgerEntry.objects.filter(account=first).first()
    assert staff.get("/admin/accounts/ledgerentry/add/").status_code == 403
    assert staff.post(f"/admin/accounts/ledgerentry/{entry.pk}/change/", {"reason": "edited"}).status_code == 403
    assert staff.post(f"/admin/accounts/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
