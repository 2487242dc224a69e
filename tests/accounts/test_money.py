"""The ledger: every change of money is an entry, balances are its sums, `check_ledger` finds a
difference, `recharge` is how operators script money (`accounts/services/money.py`)."""
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import FREE_DOMESTIC_SMS_PER_ACCOUNT, LedgerEntry, LedgerKind, Purse
from accounts.selectors import Balances, balances
from accounts.services import money
from smsplatform.errors import Errors, LeanCloudError
from tests.factories import AccountFactory
from tests.live import test_database_url

pytestmark = pytest.mark.django_db


def test_a_new_account_has_the_free_quota_as_its_first_entry_and_no_money():
    account = AccountFactory(funded=False)
    assert balances(account.pk) == Balances(Decimal("0"), Decimal("0"), FREE_DOMESTIC_SMS_PER_ACCOUNT)
    (entry,) = LedgerEntry.objects.filter(account=account)
    assert (entry.kind, entry.free_sms, entry.balance) == (LedgerKind.GIFT, FREE_DOMESTIC_SMS_PER_ACCOUNT, 0)


def test_recharge_prints_the_balances_and_writes_who_and_why(capsys):
    account = AccountFactory(name="Acme", funded=False)
    call_command("recharge", "Acme", "120.50", "--reason", "invoice 2026-118")
    assert json.loads(capsys.readouterr().out) == {
        "account": "Acme", "balance": "120.5000", "gift_balance": "0.0000", "free_sms": 100}
    call_command("recharge", "Acme", "10", "--reason", "welcome", "--gift")
    assert json.loads(capsys.readouterr().out)["gift_balance"] == "10.0000"
    kinds = list(LedgerEntry.objects.filter(account=account).order_by("id").values_list("kind", "balance", "gift", "reason"))
    assert kinds[1:] == [(LedgerKind.RECHARGE, Decimal("120.5"), 0, "invoice 2026-118"),
                         (LedgerKind.GIFT, 0, Decimal("10"), "welcome")]


@pytest.mark.parametrize("args, said", [
    (["Nobody", "10", "--reason", "x"], "No account is named 'Nobody'."),
    (["Acme", "-5", "--reason", "x"], "A recharge is a positive amount; use an adjustment to take money away."),
    (["Acme", "ten", "--reason", "x"], "'ten' is not an amount"),
    (["Acme", "0.00001", "--reason", "x"], "'0.00001' is not an amount with at most 4 decimal places"),
    (["Acme", "10", "--reason", " "], "--reason must say why."),
])
def test_recharge_refuses_what_is_not_a_recharge_and_changes_nothing(args, said):
    account = AccountFactory(name="Acme", funded=False)
    with pytest.raises(CommandError, match=said.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call_command("recharge", *args)
    assert LedgerEntry.objects.filter(account=account).count() == 1


def test_an_adjustment_never_takes_an_account_below_zero():
    account = AccountFactory(funded=False)
    money.recharge(account=account, amount="5", reason="r")
    with pytest.raises(ValueError, match="below zero"):
        money.adjust(account=account, balance="-5.0001", reason="correction")
    money.adjust(account=account, balance="-5", reason="correction")
    assert balances(account.pk).balance == 0


def test_cash_is_spread_over_the_purses_and_a_charge_can_use_all_of_it():
    account = AccountFactory(funded=False)
    money.recharge(account=account, amount="0.10", reason="r")
    purses = list(Purse.objects.filter(account=account).values_list("balance", flat=True))
    assert len(purses) > 1 and sum(purses) == Decimal("0.10") and max(purses) < Decimal("0.05")
    app_id = account.apps.create(name="x").pk
    for message_id in (1, 2):  # no purse holds 0.05 alone: the charge gathers them
        money.charge(account_id=account.pk, app_id=app_id, message_id=message_id, parts=1,
                     unit_price=Decimal("0.05"), free_eligible=False)
    assert balances(account.pk).balance == 0
    with pytest.raises(LeanCloudError) as refused:
        money.charge(account_id=account.pk, app_id=app_id, message_id=3, parts=1,
                     unit_price=Decimal("0.05"), free_eligible=False)
    assert refused.value.kind == Errors.INSUFFICIENT_BALANCE


def test_check_ledger_passes_and_catches_a_planted_difference(capsys):
    account = AccountFactory(name="Planted")
    AccountFactory()
    call_command("check_ledger")
    assert "Every account's balances equal the sums of its ledger." in capsys.readouterr().out
    Purse.objects.filter(account=account, slot=3).update(balance=Decimal("7"))  # money without an entry
    with pytest.raises(CommandError, match=r"1 account\(s\) differ from their ledger."):
        call_command("check_ledger")
    (line,) = capsys.readouterr().err.strip().splitlines()
    difference = json.loads(line)
    assert difference["account"] == "Planted"
    assert Decimal(difference["balances"]["balance"]) - Decimal(difference["ledger"]["balance"]) == Decimal("7") - (
        Decimal("100") / settings.BILLING_PURSES).quantize(Decimal("0.0001"), rounding="ROUND_DOWN")


def test_check_ledger_exits_non_zero_from_the_shell(transactional_db):
    """What an operator's cron job sees: the exit status."""
    account = AccountFactory()
    Purse.objects.filter(account=account, slot=0).update(free_sms=0)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": test_database_url()}
    result = subprocess.run([sys.executable, "manage.py", "check_ledger"], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "1 account(s) differ from their ledger." in result.stderr


def test_an_apps_daily_spend_cap_is_one_of_its_settings(capsys):
    from tests.factories import AppFactory

    app = AppFactory()
    call_command("app_settings", app.app_id, "daily_spend_cap=20.5")
    assert json.loads(capsys.readouterr().out)["daily_spend_cap"] == "20.5"
    app.refresh_from_db()
    assert app.daily_spend_cap == Decimal("20.5")
