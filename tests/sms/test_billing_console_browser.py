"""The billing console in a real browser (headless Debian chromium, Playwright): a member of the
Billing staff group logs in, filters the send records, exports them as CSV (a download), opens an
account's statement and the chart of its last 30 days (kept as test-artifacts/billing-chart.png, the statement and the filtered list beside it);
the same login cannot open an app's keys."""
import csv
import io
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sms.models import MessageStatus
from tests.browser import admin_login, screenshot
from tests.factories import AppFactory, set_balances

from .billing_support import billing_staff, bulk_charged

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "billing-browser-pw"


def a_month_of_traffic(app):
    """30 days of one shop's codes: a weekly rhythm, mostly delivered, a bad day for one carrier, a few
    numbers abroad."""
    rng = random.Random(16)
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    rows = []
    for back in range(30):
        day = today - timedelta(days=back)
        volume = 12 + 6 * (day.weekday() < 5) + rng.randint(0, 8)
        bad_day = back == 9
        for n in range(volume):
            abroad = n % 9 == 0
            roll = rng.random()
            status = (MessageStatus.DELIVERY_FAILED if roll < (0.35 if bad_day else 0.05) else
                      MessageStatus.VERIFIED if roll > 0.6 else MessageStatus.DELIVERED)
            rows.append({
                "phone": f"+1415555{back:02d}{n:02d}" if abroad else f"+86186{back:04d}{n:04d}",
                "billed_parts": 1 + (n % 5 == 0), "status": status, "carrier": "aliyun" if n % 2 else "smpp-cmcc",
                "created_at": datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=8, minutes=7 * n),
                "unit_price": "0.0800" if abroad else "0.0500",
            })
    return bulk_charged(app, rows)


def test_billing_staff_filter_export_read_a_statement_and_the_chart_but_not_keys(page, live_server, tmp_path):
    app = AppFactory(name="天东商城")
    set_balances(app.account, balance="5000", free_sms=0)
    messages = a_month_of_traffic(app)
    other = AppFactory(name="北方书店")
    set_balances(other.account, balance="5000", free_sms=0)
    bulk_charged(other, [{"phone": f"+1415666{n:04d}", "created_at": timezone.now() - timedelta(hours=n)}
                         for n in range(5)])
    billing_staff("billing", password=PASSWORD)
    today = timezone.localdate()

    admin_login(page, live_server, "billing", PASSWORD)
    expect(page.locator("#user-tools")).to_contain_text("billing")

    # The send records, filtered: one account, numbers in +1, the last week.
    page.goto(f"{live_server.url}/admin/sms/message/")
    page.click(f'#changelist-filter a:text-is("{app.account.name}")')
    page.click('#changelist-filter a:text-is("+1 US…")')
    since = today - timedelta(days=6)
    page.fill("#id_created_from", since.isoformat())
    page.fill("#id_created_to", today.isoformat())
    page.click('input[value="Apply dates"]')
    expected = sorted((m for m in messages if m.phone.startswith("+1") and timezone.localdate(m.created_at) >= since),
                      key=lambda m: m.pk)
    assert expected
    expect(page.locator("#result_list tbody tr")).to_have_count(len(expected))
    assert "country=1" in page.url and f"app__account__id__exact={app.account_id}" in page.url
    screenshot(page, "billing-send-records")

    # Export them: the download is the filtered list.
    with page.expect_download() as download_info:
        page.click("a.export-csv")
    download = download_info.value
    assert download.suggested_filename.startswith("send-records-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "export.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert sorted(int(r["id"]) for r in rows) == [m.pk for m in expected]
    assert {r["country_code"] for r in rows} == {"1"} and {r["account"] for r in rows} == {app.account.name}
    assert sum(Decimal(r["amount"]) for r in rows) == sum(Decimal("0.08") * m.billed_parts for m in expected)

    # The account's statement of this month.
    page.goto(f"{live_server.url}/admin/accounts/account/{app.account_id}/change/")
    page.click("#statement-link")
    expect(page.locator("h1")).to_contain_text(f"Statement of {app.account.name}, {today:%Y-%m}")
    month = [m for m in messages if timezone.localdate(m.created_at).replace(day=1) == today.replace(day=1)]
    amount = sum((Decimal("0.08") if m.phone.startswith("+1") else Decimal("0.05")) * m.billed_parts for m in month)
    expect(page.locator("#statement-amount")).to_have_text(f"{amount:.4f}")
    expect(page.locator("#ledger-check")).to_contain_text("(matches)")
    screenshot(page, "billing-statement")

    # The chart of the last 30 days, drawn from the database; kept as an artifact.
    page.click("text=Chart of the last 30 days")
    expect(page.locator("h1")).to_contain_text(f"Last 30 days: {app.account.name}")
    chart = page.locator("#billing-chart svg")
    expect(chart).to_be_visible()
    assert page.locator("#billing-chart svg rect[fill='#417690']").count() == 30  # a bar a day
    page.click("#toggle-nav-sidebar")
    screenshot(page, "billing-chart")

    # The same login cannot open an app's keys.
    response = page.goto(f"{live_server.url}/admin/accounts/app/{app.pk}/change/")
    assert response.status == 403
    assert app.app_key not in page.content() and app.master_key not in page.content()
    response = page.goto(f"{live_server.url}/admin/accounts/app/")
    assert response.status == 403
