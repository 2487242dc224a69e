"""The send-record list in a real browser at a laptop's 1,366 px: the status column shows without
horizontal scrolling."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from sms.models import Message, MessageStatus
from tests.browser import admin_login, screenshot
from tests.factories import AppFactory

pytestmark = pytest.mark.django_db(transaction=True)


def realistic_rows():
    app = AppFactory(name="天东商城会员中心（华东区）")
    statuses = list(MessageStatus)
    now = timezone.now()
    Message.objects.bulk_create([
        Message(app=app, phone=f"+86186{n:08d}", channel="voice" if n % 7 == 0 else "sms",
                purpose="signup_or_login" if n % 3 else "reset_password", status=statuses[n % len(statuses)],
                text="【天东商城会员中心】您的验证码是：******，请在10分钟内完成验证。", billed_parts=1 + n % 3,
                carrier="smpp-china-mobile-2" if n % 2 else "aliyun-hangzhou", created_at=now - timedelta(minutes=n))
        for n in range(60)
    ])


def test_the_send_record_list_shows_the_status_column_without_horizontal_scrolling(page, live_server):
    User.objects.create_superuser("billing", "billing@example.com", "pw")
    realistic_rows()
    admin_login(page, live_server, "billing", "pw")
    page.goto(f"{live_server.url}/admin/sms/message/")
    page.wait_for_selector("#result_list")
    screenshot(page, "admin-send-records-1366")
    layout = page.evaluate("""() => {
        const results = document.querySelector('.results');   // the admin scrolls this box sideways
        const visible = results.getBoundingClientRect();
        const header = document.querySelector('#result_list thead th.column-status').getBoundingClientRect();
        const cells = [...document.querySelectorAll('#result_list td.field-status')].map(c => c.getBoundingClientRect().right);
        return {innerWidth: window.innerWidth, pageWidth: document.documentElement.scrollWidth,
                boxRight: visible.right, boxScroll: results.scrollWidth, boxWidth: results.clientWidth,
                headerRight: header.right, cellsRight: Math.max(...cells)};
    }""")
    assert layout["headerRight"] <= min(layout["innerWidth"], layout["boxRight"]), layout
    assert layout["cellsRight"] <= min(layout["innerWidth"], layout["boxRight"]), layout
    assert layout["boxScroll"] <= layout["boxWidth"], layout  # the results box does not scroll sideways
    assert layout["pageWidth"] <= layout["innerWidth"], layout  # nor does the page
