"""The developer accounts, apps, end users, sessions and hook attempts in the admin: `accounts/admin.py`.

`admin_client` (pytest-django) is an operator: a logged-in superuser.
"""
from decimal import Decimal

import pytest

from accounts.models import FREE_DOMESTIC_SMS_PER_ACCOUNT, Account, App, HookAttempt, Session
from tests.factories import AccountFactory, AppFactory, EndUserFactory, HookAttemptFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_app_change_page_shows_keys_read_only_and_edits_settings(admin_client, app):
    page = admin_client.get(f"/admin/accounts/app/{app.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert app.app_key in html and app.master_key in html
    assert 'name="app_key"' not in html
    assert 'name="limit_per_minute"' in html


def test_creating_an_app_in_the_admin_generates_its_keys(admin_client):
    account = AppFactory().account
    form = {field: "" for field in ("app_id", "app_key", "master_key", "hook_key", "sms_signature",
                                     "test_phone_number", "engine_url")}
    form.update({
        "account": account.id, "name": "Admin-made", "timezone": "Asia/Shanghai", "test_phone_code": "123456",
        "sms_code_service_enabled": "on", "captcha_enabled": "on", "sms_login_enabled": "on",
        "limit_interval_seconds": 10, "limit_per_minute": 1, "limit_verification_per_24h": 10, "limit_notification_per_day": 15,
        "limit_voice_per_30s": 1, "limit_voice_per_hour": 3, "limit_voice_per_day": 5,
    })
    response = admin_client.post("/admin/accounts/app/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    app = App.objects.get(name="Admin-made")
    assert len(app.app_id) == 24 and len(app.app_key) == 24 and len(app.master_key) == 24


def test_end_users_search_by_number_username_or_object_id_and_filter_by_app_and_verified(admin_client):
    app, other = AppFactory(), AppFactory()
    alice = EndUserFactory(app=app, username="alice", mobile_phone_number="+8618600003333", mobile_phone_verified=True)
    EndUserFactory(app=other, username="bob", mobile_phone_number="+8618600004444")
    page = "/admin/accounts/enduser/"
    for query in ("186 0000 3333", "alice", alice.object_id):
        listing = admin_client.get(page, {"q": query}).content.decode()
        assert "alice" in listing and "bob" not in listing, query
    listing = admin_client.get(page, {"app__id__exact": other.id}).content.decode()
    assert "bob" in listing and "alice" not in listing
    listing = admin_client.get(page, {"mobile_phone_verified__exact": "1"}).content.decode()
    assert "alice" in listing and "bob" not in listing


def test_an_end_users_page_shows_its_sessions_and_the_action_ends_them(admin_client):
    alice = EndUserFactory(username="alice")
    SessionFactory.create_batch(2, user=alice)
    page = admin_client.get(f"/admin/accounts/enduser/{alice.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert alice.object_id in html and "sessions-TOTAL_FORMS" in html and 'value="2"' in html
    assert 'name="password"' not in html
    response = admin_client.post("/admin/accounts/enduser/", {"action": "end_sessions", "_selected_action": [alice.id]})
    assert response.status_code == 302
    assert not Session.objects.exists()


def test_sessions_list_by_app(admin_client):
    alice = SessionFactory(user__username="alice").user
    SessionFactory(user__username="bob")
    listing = admin_client.get("/admin/accounts/session/", {"user__app__id__exact": alice.app.id}).content.decode()
    assert "alice" in listing and "bob" not in listing


def test_hook_attempts_are_listed_with_their_outcome(admin_client):
    app = AppFactory()
    alice, bob = EndUserFactory(app=app, username="alice"), EndUserFactory(app=app, username="bob")
    HookAttemptFactory(app=app, user=alice)
    HookAttemptFactory(app=app, user=bob, attempt=2, status_code=401, succeeded=False,
                       error="Hook key check failed", duration_ms=7)
    listing = admin_client.get("/admin/accounts/hookattempt/").content.decode()
    assert "Hook key check failed" in listing and "401" in listing
    listing = admin_client.get("/admin/accounts/hookattempt/", {"succeeded__exact": "0"}).content.decode()
    assert "bob" in listing and "alice" not in listing
    attempt = HookAttempt.objects.get(user=alice)
    assert admin_client.get(f"/admin/accounts/hookattempt/{attempt.id}/change/").status_code == 200


MONEY = ("balance", "gift_balance", "free_sms_remaining")


def test_an_operator_cannot_type_a_new_balance_or_free_quota(admin_client):
    """Money changes only with the ledger that accounts for it (billing): the account page shows the
    balances and the free quota, and a change posted with typed-in amounts keeps them."""
    account = AccountFactory(balance=Decimal("12.5000"), gift_balance=Decimal("3.0000"), free_sms_remaining=42)
    app = AppFactory(account=account)
    url = f"/admin/accounts/account/{account.id}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("12.5000", "3.0000", "42"):
        assert f'<div class="readonly">{shown}</div>' in html, shown
    for field in MONEY:
        assert f'name="{field}"' not in html, field

    response = admin_client.post(url, {
        "name": account.name, "email": "billing@example.com",
        "balance": "1000000", "gift_balance": "1000000", "free_sms_remaining": "1000000",
        "apps-TOTAL_FORMS": "1", "apps-INITIAL_FORMS": "1", "apps-MIN_NUM_FORMS": "0", "apps-MAX_NUM_FORMS": "1000",
        "apps-0-id": app.id, "apps-0-account": account.id,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    account.refresh_from_db()
    assert account.email == "billing@example.com"  # the change was saved...
    assert (account.balance, account.gift_balance, account.free_sms_remaining) == (Decimal("12.5"), Decimal("3"), 42)


def test_a_new_account_starts_with_no_balance_and_the_free_quota_whatever_is_typed(admin_client):
    response = admin_client.post("/admin/accounts/account/add/", {
        "name": "Typed-in", "email": "", "balance": "1000000", "gift_balance": "1000000",
        "free_sms_remaining": "1000000",
        "apps-TOTAL_FORMS": "0", "apps-INITIAL_FORMS": "0", "apps-MIN_NUM_FORMS": "0", "apps-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    account = Account.objects.get(name="Typed-in")
    assert (account.balance, account.gift_balance, account.free_sms_remaining) == (0, 0, FREE_DOMESTIC_SMS_PER_ACCOUNT)
