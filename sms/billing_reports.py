"""What billing staff read: send records with what each cost, an account's month statement, the daily
figures of the chart. Reads only (selectors); the admin pages in `sms/billing_admin.py` shape them.

What a message cost is read from the ledger, never recomputed from prices: its charge entry (at most
one per message) took `-(balance + gift)`, and its refund entry (at most one) gave `balance + gift`
back. Both are found by `message_id` through the ledger's partial unique indexes (one per kind), one
indexed lookup a message, in the same statement as the messages (correlated subqueries), so a list of
any length is read in one query and streamed.

A message belongs to the month (or day) it was accepted in, in the admin's time zone; its refund
counts with it even when it came later.
"""
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.db.models.lookups import In
from django.utils import timezone
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from accounts.models import LedgerEntry, LedgerKind

from .models import Message, MessageStatus

CENT = Decimal("0.0001")  # the ledger's precision
ZERO = Decimal("0")
MONEY = DecimalField(max_digits=14, decimal_places=4)
DELIVERED = (MessageStatus.DELIVERED, MessageStatus.VERIFIED)
FAILED = (MessageStatus.DELIVERY_FAILED, MessageStatus.CALL_FAILED)

# Country calling codes are prefix-free: at most one of a number's first 1, 2 or 3 digits is one.
_CODES_BY_LENGTH = {n: sorted(str(c) for c in COUNTRY_CODE_TO_REGION_CODE if len(str(c)) == n) for n in (1, 2, 3)}


def country_code_of(field: str = "phone"):
    """The country calling code of an E.164 number, in SQL ("86" for +8618612345678; "" for none)."""
    return Case(*[When(In(Substr(field, 2, n), _CODES_BY_LENGTH[n]), then=Substr(field, 2, n)) for n in (1, 2, 3)],
                default=Value(""))


def filter_country(queryset, country_code: str):
    """The messages to `country_code` (a prefix of the number: exact, the codes being prefix-free)."""
    return queryset.filter(phone__startswith=f"+{country_code}")


def _entry(kind: str, column):
    return Subquery(LedgerEntry.objects.filter(kind=kind, message_id=OuterRef("pk")).order_by()
                    .values_list(column)[:1])


def charged():
    """What the message's charge entry took (0 when none: free, or never charged)."""
    return Coalesce(-_entry(LedgerKind.CHARGE, F("balance") + F("gift")), Value(ZERO), output_field=MONEY)


def refunded():
    """What its refund entry gave back (0 when none)."""
    return Coalesce(_entry(LedgerKind.REFUND, F("balance") + F("gift")), Value(ZERO), output_field=MONEY)


def free_parts():
    """Parts paid by the free quota (net of a refund's)."""
    return Coalesce(-_entry(LedgerKind.CHARGE, "free_sms"), Value(0), output_field=IntegerField()) - Coalesce(
        _entry(LedgerKind.REFUND, "free_sms"), Value(0), output_field=IntegerField())


def money(value) -> Decimal:
    """A sum of amounts at the ledger's precision (SQLite sums decimals in floating point)."""
    return Decimal(str(value or 0)).quantize(CENT)


# --- the CSV of send records -------------------------------------------------------------------------

CSV_COLUMNS = ("id", "created_at", "account", "app_id", "app", "phone", "country_code", "channel", "category",
               "status", "billed_parts", "free_parts", "charged", "refunded", "amount", "carrier")


def export_rows(queryset, *, chunk_size: int = 2000):
    """The rows of `queryset`'s messages as `CSV_COLUMNS`, read in chunks (a server-side cursor on
    PostgreSQL): however many there are, only `chunk_size` are held at once."""
    rows = (queryset.annotate(_cc=country_code_of(), _free=free_parts(), _charged=charged(), _refunded=refunded())
            .values_list("id", "created_at", "app__account__name", "app__app_id", "app__name", "phone", "_cc",
                         "channel", "category", "status", "billed_parts", "_free", "_charged", "_refunded", "carrier"))
    tz = timezone.get_current_timezone()
    for row in rows.iterator(chunk_size=chunk_size):
        (id_, created, account, app_id, app, phone, cc, channel, category, status, parts, free, took,
         gave, carrier) = row
        took, gave = money(took), money(gave)
        yield (id_, timezone.localtime(created, tz).isoformat(timespec="seconds"), account, app_id, app, phone, cc,
               channel, category, status, parts, free, took, gave, took - gave, carrier)


# --- an account's month statement -----------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    status: str
    country_code: str
    channel: str
    messages: int
    parts: int
    free_parts: int
    charged: Decimal
    refunded: Decimal

    @property
    def amount(self) -> Decimal:
        return self.charged - self.refunded

    @property
    def status_label(self) -> str:
        return MessageStatus(self.status).label if self.status in MessageStatus.values else self.status


@dataclass(frozen=True)
class Statement:
    account_id: int
    month: date  # its first day
    start: datetime
    end: datetime
    lines: list[StatementLine]
    total: StatementLine
    ledger_charged: Decimal  # the same messages' charge and refund entries, summed in the ledger itself
    ledger_refunded: Decimal

    @property
    def ledger_amount(self) -> Decimal:
        return self.ledger_charged - self.ledger_refunded

    @property
    def matches_ledger(self) -> bool:
        return (self.total.charged, self.total.refunded) == (self.ledger_charged, self.ledger_refunded)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of `month` and of the next one, in the admin's time zone."""
    tz = timezone.get_current_timezone()
    first = month.replace(day=1)
    after = first + timedelta(days=monthrange(first.year, first.month)[1])
    return (datetime.combine(first, datetime.min.time(), tzinfo=tz),
            datetime.combine(after, datetime.min.time(), tzinfo=tz))


def account_messages(account_id: int, start: datetime, end: datetime):
    return Message.objects.filter(app__account_id=account_id, created_at__gte=start, created_at__lt=end)


def month_statement(*, account_id: int, month: date) -> Statement:
    """The account's messages of `month` by status, country and channel: how many, their parts, what
    the ledger charged and refunded for them. Checked against the ledger's own sums (`matches_ledger`)."""
    start, end = month_bounds(month)
    messages = account_messages(account_id, start, end)
    grouped = (messages.annotate(_cc=country_code_of(), _free=free_parts(), _charged=charged(), _refunded=refunded())
               .values("status", "_cc", "channel")
               .annotate(n=Count("id"), parts=Sum("billed_parts"), free=Sum("_free"), took=Sum("_charged"),
                         gave=Sum("_refunded"))
               .order_by("status", "_cc", "channel"))
    lines = [StatementLine(row["status"], row["_cc"], row["channel"], row["n"], row["parts"] or 0, row["free"] or 0,
                           money(row["took"]), money(row["gave"])) for row in grouped]
    total = StatementLine("", "", "", sum(line.messages for line in lines), sum(line.parts for line in lines),
                          sum(line.free_parts for line in lines), sum((line.charged for line in lines), ZERO),
                          sum((line.refunded for line in lines), ZERO))
    ledger = (LedgerEntry.objects.filter(account_id=account_id, message_id__in=messages.values("id"))
              .aggregate(took=Sum(F("balance") + F("gift"), filter=Q(kind=LedgerKind.CHARGE), output_field=MONEY),
                         gave=Sum(F("balance") + F("gift"), filter=Q(kind=LedgerKind.REFUND), output_field=MONEY)))
    return Statement(account_id, start.date(), start, end, lines, total, -money(ledger["took"]), money(ledger["gave"]))


# --- the chart's daily figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    day: date
    messages: int
    parts: int
    delivered: int
    failed: int
    spend: Decimal

    @property
    def delivery_rate(self) -> float | None:
        """Delivered (or verified) among the messages with a final outcome; None when none has one."""
        finished = self.delivered + self.failed
        return self.delivered / finished if finished else None


def daily_figures(*, account_id: int | None = None, days: int = 30, today: date | None = None) -> list[Day]:
    """The last `days` days (today included, the admin's time zone), every day present: messages,
    parts, delivered and failed, and what they cost (charges minus refunds). All accounts without
    `account_id`."""
    tz = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    messages = Message.objects.filter(created_at__gte=start, created_at__lt=end)
    if account_id is not None:
        messages = messages.filter(app__account_id=account_id)
    rows = (messages.annotate(_day=TruncDate("created_at", tzinfo=tz), _spend=charged() - refunded())
            .values("_day")
            .annotate(n=Count("id"), parts=Sum("billed_parts"), ok=Count("id", filter=Q(status__in=DELIVERED)),
                      ko=Count("id", filter=Q(status__in=FAILED)), spend=Sum("_spend"))
            .order_by("_day"))
    by_day = {}
    for row in rows:
        day = row["_day"]
        if isinstance(day, str):  # SQLite without a converter
            day = date.fromisoformat(day)
        by_day[day] = Day(day, row["n"], row["parts"] or 0, row["ok"], row["ko"], money(row["spend"]))
    return [by_day.get(first + timedelta(days=n)) or Day(first + timedelta(days=n), 0, 0, 0, 0, ZERO)
            for n in range(days)]
