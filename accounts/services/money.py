"""An account's money: recharges, gifts, adjustments, charges and refunds. Nothing else changes it.

Every change is a `LedgerEntry` written in the same transaction as the purses it changes, so an
account's balances are always the sums of its ledger (`ledger_differences` checks it).

A charge spends the free domestic quota first, then the gift balance, then the balance, and never
takes a purse below zero. Most charges of an account with money take one statement
(`_charge_cash_fast`, a PostgreSQL function): any one of its cash purses that can pay, skipping those
that other transactions hold, so charges from many connections at once do not wait for each other's
commit. When no free purse can pay alone, or the free quota or a gift balance is left (they are
spent first, from slot 0), the charge locks all the account's purses, pays, and spreads what is
left of the cash evenly again (`_charge_locked`).
"""
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.utils import timezone

from smsplatform.errors import Errors, LeanCloudError

from ..models import Account, LedgerEntry, LedgerKind, Purse, open_purses
from ..selectors import Balances, balances

CENT = Decimal("0.0001")  # the ledger's precision
ZERO = Decimal("0")


@dataclass(frozen=True)
class Charge:
    """What paid for one message."""

    free_sms: int
    gift: Decimal
    balance: Decimal
    alert: bool = False  # this charge took the account below its alert threshold

    @property
    def amount(self) -> Decimal:
        return self.gift + self.balance


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"{value!r} is not an amount")
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValueError(f"{value!r} is not an amount with at most 4 decimal places")
    return amount


# --- money in and out by staff -------------------------------------------------------------------------

def recharge(*, account: Account, amount, reason: str, gift: bool = False, actor=None) -> Balances:
    """Add `amount` (> 0) to the balance, or to the gift balance with `gift`."""
    amount = _money(amount)
    if amount <= 0:
        raise ValueError("A recharge is a positive amount; use an adjustment to take money away.")
    kind = LedgerKind.GIFT if gift else LedgerKind.RECHARGE
    return _change(account=account, kind=kind, balance=ZERO if gift else amount, gift=amount if gift else ZERO,
                   reason=reason, actor=actor)


def adjust(*, account: Account, balance=ZERO, gift=ZERO, free_sms: int = 0, reason: str, actor=None) -> Balances:
    """A correction by staff, up or down (never below zero), with the reason written down."""
    if not reason.strip():
        raise ValueError("An adjustment needs a reason.")
    return _change(account=account, kind=LedgerKind.ADJUSTMENT, balance=_money(balance), gift=_money(gift),
                   free_sms=int(free_sms), reason=reason, actor=actor)


def _change(*, account, kind, balance=ZERO, gift=ZERO, free_sms=0, reason="", actor=None) -> Balances:
    with transaction.atomic():
        purses = _lock_purses(account.pk)
        promo = purses[0]
        cash = sum(p.balance for p in purses) + balance
        if cash < 0 or promo.gift_balance + gift < 0 or promo.free_sms + free_sms < 0:
            raise ValueError("That would take the account below zero.")
        promo.gift_balance += gift
        promo.free_sms += free_sms
        _spread_cash(purses, cash)
        LedgerEntry.objects.create(account_id=account.pk, kind=kind, balance=balance, gift=gift, free_sms=free_sms,
                                   reason=reason[:255], actor=actor)
        _note_spendable(account.pk)
        return balances(account.pk)


def _lock_purses(account_id: int) -> list[Purse]:
    purses = list(Purse.objects.select_for_update().filter(account_id=account_id).order_by("slot"))
    if not purses:  # an account made without save() (a bulk insert)
        open_purses(Account.objects.get(pk=account_id))
        purses = list(Purse.objects.select_for_update().filter(account_id=account_id).order_by("slot"))
    return purses


def _spread_cash(purses: list[Purse], cash: Decimal) -> None:
    """Write `cash` across `purses` evenly (the remainder in slot 0), with the promo columns of slot 0."""
    share = (cash / len(purses)).quantize(CENT, rounding=ROUND_DOWN)
    for purse in purses:
        purse.balance = share
    purses[0].balance = cash - share * (len(purses) - 1)
    Purse.objects.bulk_update(purses, ["balance", "gift_balance", "free_sms"])


def _note_spendable(account_id: int) -> None:
    """Money came in: an account back at or above its threshold may be alerted again."""
    if Account.objects.filter(pk=account_id, low_balance_alerted=True).exists():
        spendable = balances(account_id).spendable
        Account.objects.filter(pk=account_id, low_balance_alerted=True,
                               low_balance_threshold__lte=spendable).update(low_balance_alerted=False)


# --- charges and refunds (called by sms.charging inside the accepting / recording transaction) ----------

def charge(*, account_id: int, app_id: int, message_id: int, parts: int, unit_price: Decimal,
           free_eligible: bool) -> Charge:
    """Pay for `message_id` (`parts` at `unit_price`; the free quota applies when `free_eligible`)
    inside the caller's transaction, or raise 160 with nothing changed."""
    cost = unit_price * parts
    if connection.features.has_select_for_update_skip_locked and cost > 0:
        fast = _charge_cash_fast(account_id=account_id, app_id=app_id, message_id=message_id, cost=cost,
                                 free_eligible=free_eligible)
        if fast is not None:
            return fast
    return _charge_locked(account_id=account_id, app_id=app_id, message_id=message_id, parts=parts,
                          unit_price=unit_price, free_eligible=free_eligible)


def _charge_cash_fast(*, account_id, app_id, message_id, cost: Decimal, free_eligible: bool) -> Charge | None:
    """One statement (the function of migration accounts/0008): any cash purse but slot 0 that can pay
    alone and that no other transaction holds, while no free quota or gift balance is left; None when
    there is none (the caller takes the locked path)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_charge_cash(%s, %s, %s, %s, %s, %s)",
                       [account_id, app_id, message_id, cost, free_eligible, timezone.now()])
        charged, spendable, threshold = cursor.fetchone()
    if not charged:
        return None
    alert = threshold is not None and _crossed(account_id, threshold, spendable)
    return Charge(free_sms=0, gift=ZERO, balance=cost, alert=alert)


def _charge_locked(*, account_id, app_id, message_id, parts: int, unit_price: Decimal, free_eligible: bool) -> Charge:
    purses = _lock_purses(account_id)
    promo = purses[0]
    free = min(parts, promo.free_sms) if free_eligible else 0
    cost = unit_price * (parts - free)
    gift = min(promo.gift_balance, cost)
    cash = cost - gift
    total_cash = sum(p.balance for p in purses)
    if cash > total_cash:
        raise LeanCloudError(Errors.INSUFFICIENT_BALANCE)
    promo.free_sms -= free
    promo.gift_balance -= gift
    _spread_cash(purses, total_cash - cash)
    LedgerEntry.objects.create(account_id=account_id, kind=LedgerKind.CHARGE, balance=-cash, gift=-gift,
                               free_sms=-free, app_id=app_id, message_id=message_id)
    threshold = Account.objects.filter(pk=account_id).values_list("low_balance_threshold", flat=True).first()
    spendable = total_cash - cash + promo.gift_balance
    return Charge(free_sms=free, gift=gift, balance=cash, alert=_crossed(account_id, threshold, spendable))


def _crossed(account_id: int, threshold: Decimal | None, spendable: Decimal) -> bool:
    """Whether the charge that left `spendable` is the one that took the account below its threshold:
    once per crossing, whatever runs at the same time (a conditional UPDATE)."""
    if threshold is None or spendable >= threshold:
        return False
    return bool(Account.objects.filter(pk=account_id, low_balance_alerted=False).update(low_balance_alerted=True))


def refund(*, message_ids: list[int], reason: str) -> int:
    """Give back what paid for each of `message_ids`, once per message however often it is asked
    (inside the caller's transaction); how many were refunded."""
    if not message_ids:
        return 0
    refunded = 0
    charges = (LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, message_id__in=message_ids)
               .exclude(message_id__in=LedgerEntry.objects.filter(kind=LedgerKind.REFUND, message_id__in=message_ids)
                        .values("message_id"))
               .values_list("account_id", "app_id", "message_id", "balance", "gift", "free_sms"))
    by_account: dict[int, list[tuple]] = {}
    for row in charges:
        by_account.setdefault(row[0], []).append(row)
    for account_id in sorted(by_account):
        purses = _lock_purses(account_id)
        # Locked: another refund of the same message waits here, then finds it refunded.
        done = set(LedgerEntry.objects.filter(kind=LedgerKind.REFUND, message_id__in=[r[2] for r in by_account[account_id]])
                   .values_list("message_id", flat=True))
        rows = [r for r in by_account[account_id] if r[2] not in done]
        if not rows:
            continue
        cash = sum(-r[3] for r in rows)
        purses[0].gift_balance += sum(-r[4] for r in rows)
        purses[0].free_sms += sum(-r[5] for r in rows)
        _spread_cash(purses, sum(p.balance for p in purses) + cash)
        LedgerEntry.objects.bulk_create([
            LedgerEntry(account_id=account_id, kind=LedgerKind.REFUND, balance=-r[3], gift=-r[4], free_sms=-r[5],
                        app_id=r[1], message_id=r[2], reason=reason[:255])
            for r in rows
        ])
        refunded += len(rows)
        _note_spendable(account_id)
    return refunded


def count_spend(*, app, day, amount: Decimal) -> None:
    """Add `amount` to what `app` spent on `day`, or raise 154 (and change nothing) past its cap."""
    cap = app.daily_spend_cap
    if cap is None or amount <= 0:
        return
    if amount > cap:
        raise LeanCloudError(Errors.THRESHOLD_EXCEEDED, "Exceeded the app's daily spend cap.")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_appdailyspend (app_id, day, amount) VALUES (%s, %s, %s)"
            " ON CONFLICT (app_id, day) DO UPDATE SET amount = accounts_appdailyspend.amount + excluded.amount"
            # Compared in ten-thousandths: SQLite keeps these columns in floating point.
            " WHERE CAST(ROUND((accounts_appdailyspend.amount + excluded.amount) * 10000) AS BIGINT) <= %s"
            " RETURNING amount",
            [app.pk, day, amount, int(cap / CENT)],
        )
        if cursor.fetchone() is None:
            raise LeanCloudError(Errors.THRESHOLD_EXCEEDED, "Exceeded the app's daily spend cap.")


# --- the ledger's own check ---------------------------------------------------------------------------

def _sums(row: dict) -> tuple:
    """(balance, gift, free SMS) of a row of sums, to the ledger's precision (SQLite sums decimals in
    floating point: 4959.0599999 is 4959.06)."""
    return (Decimal(row["balance"] or 0).quantize(CENT), Decimal(row["gift"] or 0).quantize(CENT),
            int(row["free_sms"] or 0))


def ledger_differences() -> list[dict]:
    """Every account whose purses differ from the sums of its ledger, with both."""
    from django.db.models import Sum

    sums = {row["account_id"]: row for row in LedgerEntry.objects.values("account_id").annotate(
        balance=Sum("balance"), gift=Sum("gift"), free_sms=Sum("free_sms"))}
    held = {row["account_id"]: row for row in Purse.objects.values("account_id").annotate(
        balance=Sum("balance"), gift=Sum("gift_balance"), free_sms=Sum("free_sms"))}
    differences = []
    names = dict(Account.objects.values_list("id", "name"))
    for account_id in sorted(set(sums) | set(held) | set(names)):
        ledger = sums.get(account_id, {"balance": ZERO, "gift": ZERO, "free_sms": 0})
        purse = held.get(account_id, {"balance": ZERO, "gift": ZERO, "free_sms": 0})
        got, want = _sums(purse), _sums(ledger)
        if got != want:
            differences.append({"account": names.get(account_id, ""), "account_id": account_id,
                                "balances": dict(zip(("balance", "gift_balance", "free_sms"), map(str, got))),
                                "ledger": dict(zip(("balance", "gift_balance", "free_sms"), map(str, want)))})
    return differences
