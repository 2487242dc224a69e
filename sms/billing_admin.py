"""The billing staff's pages of the SMS admin: the send records' extra filters (account, country, a
range of dates) and their CSV export, prices, an account's month statement (page and CSV) and the
chart of the last 30 days. The reads are `billing_reports`'; the "Billing staff" group
(migration 0006) holds exactly the permissions these pages ask for.
"""
import csv
from datetime import date, datetime, timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from accounts.models import Account

from . import billing_reports as reports
from .billing_chart import chart_svg
from .models import Price

# What the statement and the chart need: the send records and the ledger.
REPORT_PERMISSIONS = ("sms.view_message", "accounts.view_ledgerentry")


def country_label(code: str) -> str:
    """"+86 CN", "+1 US…" (the code's first region, and … when it has more)."""
    regions = [r for r in COUNTRY_CODE_TO_REGION_CODE.get(int(code), ()) if r != "001"]
    return f"+{code} {regions[0]}{'…' if len(regions) > 1 else ''}" if regions else f"+{code}"


class CountryFilter(admin.SimpleListFilter):
    """Messages to one country calling code (those that have a price: every destination sent to has one)."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = sorted(set(Price.objects.values_list("country_code", flat=True)), key=lambda c: (len(c), c))
        return [(code, country_label(code)) for code in codes]

    def queryset(self, request, queryset):
        code = self.value()
        if code is None:
            return queryset
        if not code.isdigit():
            raise IncorrectLookupParameters(f"{code!r} is not a country calling code")
        return reports.filter_country(queryset, code)


class DateRangeFilter(admin.ListFilter):
    """Messages accepted from one date to another (both included, the admin's time zone): two date
    inputs; the other filters of the list are kept."""

    title = "date range"
    template = "admin/sms/date_range_filter.html"
    FROM, TO = "created_from", "created_to"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in (self.FROM, self.TO):
            if name in params:
                value = params.pop(name)
                value = value[-1] if isinstance(value, list) else value
                if value:
                    self.used_parameters[name] = value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.FROM, self.TO]

    def _day(self, name) -> date | None:
        value = self.used_parameters.get(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise IncorrectLookupParameters(f"{value!r} is not a date (YYYY-MM-DD)")

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        first, last = self._day(self.FROM), self._day(self.TO)
        if first:
            queryset = queryset.filter(created_at__gte=datetime.combine(first, datetime.min.time(), tzinfo=tz))
        if last:
            after = last + timedelta(days=1)
            queryset = queryset.filter(created_at__lt=datetime.combine(after, datetime.min.time(), tzinfo=tz))
        return queryset

    def choices(self, changelist):
        kept = []
        for name, value in changelist.params.items():
            if name in (self.FROM, self.TO):
                continue
            for one in (value if isinstance(value, list) else [value]):
                kept.append((name, one))
        yield {"kept": kept, "from": self.used_parameters.get(self.FROM, ""),
               "to": self.used_parameters.get(self.TO, ""),
               "clear": changelist.get_query_string(remove=[self.FROM, self.TO]),
               "selected": bool(self.used_parameters)}


class _Echo:
    """A file that hands back what is written: each CSV row becomes one chunk of the response."""

    def write(self, value):
        return value


def stream_csv(filename: str, header, rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a BOM, so that spreadsheets read the Chinese names as UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_view(model_admin, request):
    """The changelist's messages, as filtered and searched, as CSV: streamed row by row."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    changelist = model_admin.get_changelist_instance(request)
    queryset = changelist.get_queryset(request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return stream_csv(f"send-records-{stamp}.csv", reports.CSV_COLUMNS, reports.export_rows(queryset))


def _may_read_reports(request) -> None:
    if not request.user.has_perms(REPORT_PERMISSIONS):
        raise PermissionDenied


class MonthForm(forms.Form):
    month = forms.CharField(required=False, help_text="YYYY-MM",
                            widget=forms.DateInput(attrs={"type": "month"}))

    def clean_month(self):
        value = self.cleaned_data["month"]
        if not value:
            return timezone.localdate().replace(day=1)
        try:
            month = datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError("A month as YYYY-MM.")
        if not 1971 <= month.year <= 9998:  # the previous and next months exist
            raise forms.ValidationError("A month between 1971 and 9998.")
        return month


def _context(model_admin, request, title, **extra):
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": title,
            **extra}


def statement_view(model_admin, request, account_id):
    """An account's month statement (`?month=YYYY-MM`, this month without it); `&format=csv` as CSV."""
    _may_read_reports(request)
    account = get_object_or_404(Account, pk=account_id)
    form = MonthForm(request.GET)
    month = form.cleaned_data["month"] if form.is_valid() else timezone.localdate().replace(day=1)
    statement = reports.month_statement(account_id=account.pk, month=month)
    if request.GET.get("format") == "csv":
        rows = [(line.status, f"+{line.country_code}" if line.country_code else "", line.channel, line.messages,
                 line.parts, line.free_parts, line.charged, line.refunded, line.amount) for line in statement.lines]
        t = statement.total
        rows.append(("total", "", "", t.messages, t.parts, t.free_parts, t.charged, t.refunded, t.amount))
        header = ("status", "country", "channel", "messages", "parts", "free_parts", "charged", "refunded", "amount")
        return stream_csv(f"statement-{account.pk}-{month:%Y-%m}.csv", header, rows)
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return TemplateResponse(request, "admin/sms/billing/statement.html", _context(
        model_admin, request, f"Statement of {account.name}, {month:%Y-%m}",
        account=account, statement=statement, form=form, month=month, previous=previous, following=following))


def chart_view(model_admin, request):
    """Messages, delivery rate and spend a day over the last 30 days; `?account=<id>` for one account."""
    _may_read_reports(request)
    account = None
    if request.GET.get("account"):
        try:
            account = get_object_or_404(Account, pk=int(request.GET["account"]))
        except ValueError:
            account = None
    days = reports.daily_figures(account_id=account.pk if account else None)
    accounts = Account.objects.order_by("name").values_list("id", "name")
    return TemplateResponse(request, "admin/sms/billing/chart.html", _context(
        model_admin, request, f"Last 30 days: {account.name if account else 'all accounts'}",
        account=account, accounts=accounts, days=days, chart=chart_svg(days)))


def statements_index_view(model_admin, request):
    """Pick an account (and a month) for its statement."""
    _may_read_reports(request)
    picked = request.GET.get("account", "")
    if picked.isdigit():
        target = reverse("admin:sms_billing_statement", args=[int(picked)])
        month = request.GET.get("month", "")
        return redirect(f"{target}?{urlencode({'month': month})}" if month else target)
    accounts = Account.objects.order_by("name").values_list("id", "name")
    return TemplateResponse(request, "admin/sms/billing/statements.html", _context(
        model_admin, request, "Statements", accounts=accounts, month=timezone.localdate().replace(day=1)))


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("country", "channel", "unit_price", "updated_at")
    list_filter = ("channel",)
    search_fields = ("=country_code",)
    search_help_text = "A country calling code: 86, 1, 44..."
    fields = ("country_code", "channel", "unit_price", "updated_at")
    readonly_fields = ("updated_at",)
    ordering = ("country_code", "channel")

    @admin.display(description="country", ordering="country_code")
    def country(self, price):
        return f"+{price.country_code}"

