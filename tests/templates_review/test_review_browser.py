"""The review queue in a real browser (headless Debian chromium, Playwright): an operator of the
Operators group rejects one template with a reason and approves another; then the app sends with
the approved one, and the rejected one answers 605. The queue's screenshot is kept under
test-artifacts/ (review-queue.png)."""
import pytest
from django.core import mail
from playwright.sync_api import expect

from smsplatform.errors import Errors
from templates_review.models import Review
from tests.browser import admin_login, screenshot
from tests.support import assert_error, unique_phone

from .support import operator, submitted_template

PASSWORD = "operator-browser-pw"


@pytest.mark.django_db(transaction=True)
def test_an_operator_rejects_one_template_and_approves_another(page, live_server, live_app, client_of, outbox):
    app = live_app
    app.account.email = "owner@shop.example"
    app.account.save()
    welcome = submitted_template(app, name="welcome", body="欢迎使用{{name}}，您的验证码是{{code}}，{{ttl}}分钟内有效。")
    noisy = submitted_template(app, name="noisy", body="验证码{{code}}，转发给好友一起领")
    operator("reviewer", password=PASSWORD)

    admin_login(page, live_server, "reviewer", PASSWORD)
    page.goto(f"{live_server.url}/admin/templates_review/review/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.get_by_text(f"【{app.name}】欢迎使用{app.name}，您的验证码是123456，10分钟内有效。")).to_be_visible()
    page.click("#toggle-nav-sidebar")  # the queue's whole width, as an operator at a laptop would have it
    screenshot(page, "review-queue")

    # Reject "noisy", with a reason asked on a page of its own.
    noisy_review = Review.objects.get(template=noisy)
    page.check(f'input[name="_selected_action"][value="{noisy_review.pk}"]')
    page.select_option('select[name="action"]', "reject_selected")
    page.click('button[name="index"]')
    expect(page.get_by_text("Reject 1 submission(s).")).to_be_visible()
    page.fill("#id_reason", "A verification SMS asks nobody to forward it.")
    page.click('input[name="reject"]')
    expect(page.locator(".messagelist")).to_contain_text("1 submission(s) rejected")

    # Approve "welcome", the one left in the queue.
    welcome_review = Review.objects.get(template=welcome)
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.check(f'input[name="_selected_action"][value="{welcome_review.pk}"]')
    page.select_option('select[name="action"]', "approve_selected")
    page.click('button[name="index"]')
    expect(page.locator(".messagelist")).to_contain_text("1 submission(s) approved")
    expect(page.locator("#result_list")).to_have_count(0)  # the queue is empty

    noisy_review.refresh_from_db()
    welcome_review.refresh_from_db()
    assert (noisy_review.status, noisy_review.reason, noisy_review.decided_by.username) == (
        "rejected", "A verification SMS asks nobody to forward it.", "reviewer")
    assert (welcome_review.status, welcome_review.decided_by.username) == ("approved", "reviewer")
    assert sorted(message.subject.rsplit(" ", 1)[-1] for message in mail.outbox) == ["approved", "rejected"]

    # The app sends with the approved one; the rejected one is 605.
    client = client_of(app)
    phone = unique_phone()
    assert client.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone, "template": "welcome"}).status_code == 200
    code = outbox.last_code(phone)
    assert outbox.messages(phone)[0]["text"] == f"【{app.name}】欢迎使用{app.name}，您的验证码是{code}，10分钟内有效。"
    assert_error(client.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone(), "template": "noisy"}),
                 Errors.TEMPLATE_NOT_VERIFIED)
