"""The billing console in the SMS admin (`sms/billing_admin.py`, `sms/billing_reports.py`): the send
records' filters and CSV export, prices, the month statement, the chart; and what billing staff may
not open."""
import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.models import LedgerEntry, LedgerKind
from sms import billing_reports
from sms.models import Message, MessageStatus, Price
from tests.factories import AppFactory, EndUserFactory, MessageFactory
from tests.support import unique_phone

from .billing_support import billing_staff, charged, no_free_quota, refund

pytestmark = pytest.mark.django_db

LIST = "/admin/sms/message/"


@pytest.fixture
def staff(client):
    client.force_login(billing_staff())
    return client


def rows_of(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def at(day: date, hour=12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone())


# --- the send records: filters and CSV ----------------------------------------------------------------

def test_the_csv_has_one_row_per_message_with_what_the_ledger_charged(staff):
    app = AppFactory(name="天东商城")
    no_free_quota(app.account)
    domestic = charged(app, unit_price="0.0500", parts=2, phone="+8618600001111", carrier="aliyun")
    abroad = charged(app, unit_price="0.0800", parts=1, phone="+14155550100", status=MessageStatus.CALL_FAILED)
    refund(abroad)
    free = AppFactory()
    quota = charged(free, parts=1, free=True, phone="+8618600003333")

    response = staff.get(LIST + "export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="send-records-')
    rows = {int(row["id"]): row for row in rows_of(response)}
    assert set(rows) == {domestic.pk, abroad.pk, quota.pk}
    row = rows[domestic.pk]
    assert list(row) == list(billing_reports.CSV_COLUMNS)
    assert (row["account"], row["app_id"], row["app"], row["phone"], row["country_code"], row["channel"],
            row["category"], row["status"], row["billed_parts"], row["free_parts"], row["charged"], row["refunded"],
            row["amount"], row["carrier"]) == (
        app.account.name, app.app_id, "天东商城", "+8618600001111", "86", "sms", "verification", "delivered", "2",
        "0", "0.1000", "0.0000", "0.1000", "aliyun")
    assert datetime.fromisoformat(row["created_at"]) == domestic.created_at.replace(microsecond=0)
    assert (rows[abroad.pk]["country_code"], rows[abroad.pk]["status"], rows[abroad.pk]["charged"],
            rows[abroad.pk]["refunded"], rows[abroad.pk]["amount"]) == ("1", "call_failed", "0.0800", "0.0800", "0.0000")
    assert (rows[quota.pk]["free_parts"], rows[quota.pk]["charged"]) == ("1", "0.0000")
    # No key of any app is in it.
    body = "".join(",".join(r.values()) for r in rows.values())
    assert app.app_key not in body and app.master_key not in body and app.hook_key not in body


def test_the_csv_keeps_the_lists_filters(staff):
    app, other = AppFactory(), AppFactory()
    kept = MessageFactory(app=app, phone="+8618600001111", status="delivered")
    MessageFactory(app=app, phone="+8618600002222", status="call_failed")
    MessageFactory(app=other, phone="+8618600003333", status="delivered")
    listing = staff.get(LIST, {"app__account__id__exact": app.account_id, "status__exact": "delivered"})
    html = listing.content.decode()
    assert f'href="/admin/sms/message/export.csv?app__account__id__exact={app.account_id}&amp;status__exact=delivered"' in html
    rows = rows_of(staff.get(LIST + "export.csv", {"app__account__id__exact": app.account_id,
                                                   "status__exact": "delivered"}))
    assert [int(row["id"]) for row in rows] == [kept.pk]
    rows = rows_of(staff.get(LIST + "export.csv", {"q": "186 0000 3333"}))
    assert [row["phone"] for row in rows] == ["+8618600003333"]


def test_the_csv_is_streamed_from_a_chunked_iterator(staff, monkeypatch):
    app = AppFactory()
    Message.objects.bulk_create([Message(app=app, phone=f"+86186{n:08d}", text="x") for n in range(30)])
    chunks = []
    real = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunks.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    response = staff.get(LIST + "export.csv")
    assert isinstance(response, StreamingHttpResponse) and not chunks  # nothing read before the body is
    lines = iter(response.streaming_content)
    assert next(lines) == "\ufeff".encode()
    assert next(lines).startswith(b"id,created_at,account,")
    assert chunks == []  # the header went out before the first row was read
    rest = list(lines)
    assert len(rest) == 30 and chunks == [2000]
    response.close()


def test_the_send_records_filter_by_account_country_channel_and_dates(staff):
    app, other = AppFactory(), AppFactory()
    today = timezone.localdate()
    MessageFactory(app=app, phone="+8618600001111", created_at=at(today - timedelta(days=10)))
    MessageFactory(app=app, phone="+14155550101", created_at=at(today - timedelta(days=3)), channel="sms")
    MessageFactory(app=app, phone="+8618600002222", created_at=at(today - timedelta(days=3)), channel="voice")
    MessageFactory(app=other, phone="+8618600003333", created_at=at(today))

    def shown(**params):
        return sorted(row["phone"] for row in rows_of(staff.get(LIST + "export.csv", params)))

    def listed(**params):
        html = staff.get(LIST, params).content.decode()
        return sorted(p for p in ("+8618600001111", "+14155550101", "+8618600002222", "+8618600003333") if p in html)

    assert listed(app__account__id__exact=other.account_id) == ["+8618600003333"]
    assert listed(country="1") == ["+14155550101"] == shown(country="1")
    assert listed(country="86", channel__exact="voice") == ["+8618600002222"]
    since = (today - timedelta(days=3)).isoformat()
    assert listed(created_from=since) == ["+14155550101", "+8618600002222", "+8618600003333"] == shown(created_from=since)
    until = (today - timedelta(days=3)).isoformat()
    assert listed(created_to=until) == ["+14155550101", "+8618600001111", "+8618600002222"]
    assert shown(created_from=since, created_to=until, app__id__exact=app.id) == ["+14155550101", "+8618600002222"]
    # The dates' inputs keep the other filters.
    html = staff.get(LIST, {"country": "86", "created_from": since}).content.decode()
    assert '<input type="hidden" name="country" value="86">' in html
    assert f'name="created_from" value="{since}"' in html
    # With the filters' counts on too.
    assert staff.get(LIST, {"_facets": "True", "country": "86", "created_from": since}).status_code == 200
    # Not a date: the admin's "wrong filter" answer, not a 500.
    assert staff.get(LIST, {"created_from": "yesterday"}).status_code == 302


# --- prices ------------------------------------------------------------------------------------------

def test_billing_staff_add_and_change_prices(staff):
    response = staff.post("/admin/sms/price/add/", {"country_code": "998", "channel": "sms", "unit_price": "0.3100"})
    assert response.status_code == 302, response.content.decode()[:2000]
    price = Price.objects.get(country_code="998", channel="sms")
    response = staff.post(f"/admin/sms/price/{price.pk}/change/", {"country_code": "998", "channel": "sms",
                                                                    "unit_price": "0.2900"})
    assert response.status_code == 302
    price.refresh_from_db()
    assert price.unit_price == Decimal("0.2900")
    assert staff.post(f"/admin/sms/price/{price.pk}/delete/", {"post": "yes"}).status_code == 403


# --- the month statement -----------------------------------------------------------------------------

def test_the_statement_sums_charges_and_refunds_as_the_ledger_has_them(staff):
    app = AppFactory()
    account = app.account
    no_free_quota(account)
    month = date(2026, 10, 1)
    charged(app, unit_price="0.0500", parts=1, phone=unique_phone(), created_at=at(date(2026, 10, 1), 0))
    charged(app, unit_price="0.0500", parts=3, phone=unique_phone(), created_at=at(date(2026, 10, 15)))
    charged(app, unit_price="0.0500", parts=2, status=MessageStatus.DELIVERY_FAILED, phone=unique_phone(),
            created_at=at(date(2026, 10, 20)))
    us = charged(app, unit_price="0.0800", parts=1, phone="+14155550102", status=MessageStatus.SENDING,
                 created_at=at(date(2026, 10, 31), 23))
    refund(us)
    charged(app, unit_price="0.0800", parts=2, phone="+14155550103", created_at=at(date(2026, 10, 31), 22))
    # Other months and other accounts stay out.
    charged(app, unit_price="0.0500", parts=1, phone=unique_phone(), created_at=at(date(2026, 11, 1), 0))
    charged(app, unit_price="0.0500", parts=1, phone=unique_phone(), created_at=at(date(2026, 9, 30), 23))
    charged(AppFactory(), unit_price="0.0500", parts=5, phone=unique_phone(), created_at=at(date(2026, 10, 10)))

    statement = billing_reports.month_statement(account_id=account.pk, month=month)
    lines = {(line.status, line.country_code, line.channel): (line.messages, line.parts, line.charged, line.refunded,
                                                              line.amount) for line in statement.lines}
    assert lines == {
        ("delivered", "86", "sms"): (2, 4, Decimal("0.2000"), Decimal("0"), Decimal("0.2000")),
        ("delivery_failed", "86", "sms"): (1, 2, Decimal("0.1000"), Decimal("0"), Decimal("0.1000")),
        ("call_failed", "1", "sms"): (1, 1, Decimal("0.0800"), Decimal("0.0800"), Decimal("0")),
        ("delivered", "1", "sms"): (1, 2, Decimal("0.1600"), Decimal("0"), Decimal("0.1600")),
    }
    assert (statement.total.messages, statement.total.parts, statement.total.amount) == (5, 9, Decimal("0.4600"))
    # What the ledger took for those messages, summed in the ledger.
    ids = billing_reports.account_messages(account.pk, statement.start, statement.end).values_list("id", flat=True)
    took = -sum(e.balance + e.gift for e in LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, message_id__in=list(ids)))
    gave = sum(e.balance + e.gift for e in LedgerEntry.objects.filter(kind=LedgerKind.REFUND, message_id__in=list(ids)))
    assert (statement.total.charged, statement.total.refunded) == (took, gave) == (Decimal("0.5400"), Decimal("0.0800"))
    assert statement.matches_ledger

    page = staff.get(f"{LIST}statements/{account.pk}/", {"month": "2026-10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Statement of {account.name}, 2026-10" in html
    assert '<td style="text-align:right" id="statement-amount">0.4600</td>' in html
    assert "(matches)" in html

    response = staff.get(f"{LIST}statements/{account.pk}/", {"month": "2026-10", "format": "csv"})
    rows = rows_of(response)
    assert response["Content-Disposition"] == f'attachment; filename="statement-{account.pk}-2026-10.csv"'
    assert rows[-1] == {"status": "total", "country": "", "channel": "", "messages": "5", "parts": "9",
                        "free_parts": "0", "charged": "0.5400", "refunded": "0.0800", "amount": "0.4600"}
    assert {(r["status"], r["country"], r["amount"]) for r in rows[:-1]} == {
        ("delivered", "+86", "0.2000"), ("delivery_failed", "+86", "0.1000"), ("call_failed", "+1", "0.0000"),
        ("delivered", "+1", "0.1600")}


def test_the_statement_of_messages_sent_through_the_api(staff, lc, app, outbox):
    no_free_quota(app.account)
    for _ in range(3):
        assert lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone()}).status_code == 200
    statement = billing_reports.month_statement(account_id=app.account_id, month=timezone.localdate())
    charges = LedgerEntry.objects.filter(account=app.account, kind=LedgerKind.CHARGE)
    assert charges.count() == 3
    assert statement.total.messages == 3
    assert statement.total.amount == -sum(e.balance + e.gift for e in charges) > 0
    assert statement.matches_ledger


def test_the_statements_page_picks_an_account_and_a_month(staff):
    app = AppFactory()
    for wrong in ("0001-01", "9999-12", "2026-13", "soon"):
        page = staff.get(f"{LIST}statements/{app.account_id}/", {"month": wrong})
        assert page.status_code == 200 and "Showing this month." in page.content.decode(), wrong
    html = staff.get(f"{LIST}statements/").content.decode()
    assert app.account.name in html
    response = staff.get(f"{LIST}statements/", {"account": app.account_id, "month": "2026-10"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}statements/{app.account_id}/?month=2026-10"


# --- the chart ---------------------------------------------------------------------------------------

def test_the_chart_draws_the_last_30_days_from_the_database_with_nothing_from_elsewhere(staff):
    app = AppFactory()
    no_free_quota(app.account)
    today = timezone.localdate()
    for n in range(4):
        charged(app, parts=1, phone=unique_phone(), created_at=at(today - timedelta(days=2)))
    failed = charged(app, parts=1, phone=unique_phone(), status=MessageStatus.CALL_FAILED,
                     created_at=at(today - timedelta(days=2)))
    refund(failed)
    charged(app, parts=2, phone=unique_phone(), created_at=at(today - timedelta(days=40)))

    days = billing_reports.daily_figures(account_id=app.account_id)
    assert len(days) == 30 and days[-1].day == today and days[0].day == today - timedelta(days=29)
    day = days[-3]
    assert (day.messages, day.delivered, day.failed, day.spend) == (5, 4, 1, Decimal("0.2000"))
    assert day.delivery_rate == 0.8
    assert sum(d.messages for d in days) == 5

    for params in ({}, {"account": app.account_id}):
        page = staff.get(f"{LIST}chart/", params)
        assert page.status_code == 200
        html = page.content.decode()
        assert "<svg" in html and "Messages a day" in html and "Delivery rate" in html and "Spend a day" in html
        assert f"{(today - timedelta(days=2)).isoformat()}: 5" in html
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)  # every file from this server: works offline
        svg = html[html.index("<svg"):html.index("</svg>")]
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


# --- permissions -------------------------------------------------------------------------------------

def test_billing_staff_cannot_open_apps_keys_end_users_or_carriers(staff):
    app = AppFactory()
    user = EndUserFactory(app=app)
    message = charged(app, phone=unique_phone(), free=True)
    for url in (f"/admin/accounts/app/{app.pk}/change/", "/admin/accounts/app/", "/admin/accounts/enduser/",
                f"/admin/accounts/enduser/{user.pk}/change/", "/admin/sms/carrier/", "/admin/sms/route/",
                "/admin/accounts/session/", "/admin/templates_review/signature/"):
        assert staff.get(url).status_code == 403, url
    # What they may open never shows an app's keys.
    for url in (LIST, f"{LIST}{message.pk}/change/", "/admin/accounts/account/",
                f"/admin/accounts/account/{app.account_id}/change/", "/admin/accounts/ledgerentry/",
                f"{LIST}statements/{app.account_id}/", f"{LIST}chart/", "/admin/", LIST + "export.csv"):
        response = staff.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for key in (app.app_key, app.master_key, app.hook_key):
            assert key.encode() not in body, url
    # Send records are read, not edited.
    assert staff.post(f"{LIST}{message.pk}/change/", {"status": "delivered"}).status_code == 403


def test_without_the_ledger_the_reports_are_refused(client):
    from django.contrib.auth.models import Permission, User

    reader = User.objects.create_user("reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(reader)
    app = AppFactory()
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}chart/").status_code == 403
    assert client.get(f"{LIST}statements/{app.account_id}/").status_code == 403
    assert "Statements" not in client.get(LIST).content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client):
    for url in (LIST + "export.csv", f"{LIST}chart/", f"{LIST}statements/1/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
