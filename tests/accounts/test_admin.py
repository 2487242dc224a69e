"""The developer accounts, apps, end users, sessions and hook attempts in the admin: `accounts/admin.py`.

`admin_client` (pytest-django) is an operator: a logged-in superuser.
"""
from decimal import Decimal

import pytest

from accounts.models import FREE_DOMESTIC_SMS_PER_ACCOUNT, Account, App, HookAttempt, Session
from accounts.selectors import Balances, balances
from tests.factories import AccountFactory, AppFactory, EndUserFactory, HookAttemptFactory, SessionFactory, set_balances

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


MONEY = ("balance", "gift_balance", "free_sms")


def test_an_operator_cannot_type_a_new_balance_or_free_quota(admin_client):
    """Money changes only with the ledger that accounts for it (billing): the account page shows the
    balances and the free quota, and a change posted with typed-in amounts keeps them."""
    account = AccountFactory()
    set_balances(account, balance="12.5", gift="3", free_sms=42)
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
        "balance": "1000000", "gift_balance": "1000000", "free_sms": "1000000",
        "apps-TOTAL_FORMS": "1", "apps-INITIAL_FORMS": "1", "apps-MIN_NUM_FORMS": "0", "apps-MAX_NUM_FORMS": "1000",
        "apps-0-id": app.id, "apps-0-account": account.id,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    account.refresh_from_db()
    assert account.email == "billing@example.com"  # the change was saved...
    assert balances(account.pk) == Balances(Decimal("12.5"), Decimal("3"), 42)


def test_a_new_account_starts_with_no_balance_and_the_free_quota_whatever_is_typed(admin_client):
    response = admin_client.post("/admin/accounts/account/add/", {
        "name": "Typed-in", "email": "", "balance": "1000000", "gift_balance": "1000000",
        "free_sms": "1000000",
        "apps-TOTAL_FORMS": "0", "apps-INITIAL_FORMS": "0", "apps-MIN_NUM_FORMS": "0", "apps-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    account = Account.objects.get(name="Typed-in")
    assert balances(account.pk) == Balances(Decimal(0), Decimal(0), FREE_DOMESTIC_SMS_PER_ACCOUNT)


# --- what staff may see -------------------------------------------------------------------------------

def staff_with(*codenames, username="viewer"):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, password="a long, uncommon passphrase", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_an_end_users_page_shows_djangos_summary_of_the_password_never_the_hash(client):
    alice = EndUserFactory(username="alice")
    client.force_login(staff_with("view_enduser"))
    html = client.get(f"/admin/accounts/enduser/{alice.id}/change/").content.decode()
    algorithm, _, rest = alice.password.partition("$")
    assert algorithm in html and "salt" in html.lower()
    assert alice.password not in html and rest[-20:] not in html
    no_password = EndUserFactory(username="bob", raw_password=None)
    assert "No password set." in client.get(f"/admin/accounts/enduser/{no_password.id}/change/").content.decode()


SECRETS = ("master_key", "hook_key", "test_phone_code")


def app_form(app, **changes) -> dict:
    """The app's change form as the admin posts it (without its secrets)."""
    form = {"account": app.account_id, "name": app.name, "timezone": app.timezone,
            "test_phone_number": app.test_phone_number, "engine_url": app.engine_url}
    for field in App.SETTINGS:
        value = getattr(app, field)
        if field in App.SECRETS or field in form:
            continue
        if isinstance(value, bool):
            if value:
                form[field] = "on"
        else:
            form[field] = "" if value is None else value
    form.update(changes)
    return form


@pytest.mark.app(test_phone_code="975318")
def test_an_apps_secrets_need_a_permission_of_their_own(client, app):
    client.force_login(staff_with("view_app", "change_app"))
    html = client.get(f"/admin/accounts/app/{app.id}/change/").content.decode()
    assert app.app_id in html and app.app_key in html
    for secret in (app.master_key, app.hook_key, app.test_phone_code):
        assert secret not in html
    # A change by such a user keeps them.
    before = [getattr(app, field) for field in SECRETS]
    response = client.post(f"/admin/accounts/app/{app.id}/change/", app_form(app, limit_per_minute=3))
    assert response.status_code == 302, response.content.decode()[:3000]
    app.refresh_from_db()
    assert app.limit_per_minute == 3 and [getattr(app, field) for field in SECRETS] == before
    client.force_login(staff_with("view_app", "view_app_secrets", username="keeper"))
    html = client.get(f"/admin/accounts/app/{app.id}/change/").content.decode()
    for secret in (app.master_key, app.hook_key, app.test_phone_code):
        assert secret in html


def test_a_staff_user_without_the_permission_adds_an_app_whose_secrets_are_generated(client):
    account = AppFactory().account
    client.force_login(staff_with("view_app", "add_app"))
    page = client.get("/admin/accounts/app/add/").content.decode()
    for field in SECRETS:
        assert f'name="{field}"' not in page
    form = {field: "" for field in ("app_id", "app_key", "test_phone_number", "engine_url")}
    form.update({
        "account": account.id, "name": "Staff-made", "timezone": "Asia/Shanghai",
        "sms_code_service_enabled": "on", "captcha_enabled": "on", "sms_login_enabled": "on",
        "limit_interval_seconds": 10, "limit_per_minute": 1, "limit_verification_per_24h": 10,
        "limit_notification_per_day": 15,
        "limit_voice_per_30s": 1, "limit_voice_per_hour": 3, "limit_voice_per_day": 5,
    })
    response = client.post("/admin/accounts/app/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    app = App.objects.get(name="Staff-made")
    assert len(app.master_key) == 24 and len(app.hook_key) == 24 and len(app.test_phone_code) == 6


def test_in_a_browser_view_only_staff_see_neither_hashes_nor_secrets(page, live_server, transactional_db):
    from tests.browser import admin_login, screenshot

    app = AppFactory(test_phone_number="+8618600000001", test_phone_code="975318")
    alice = EndUserFactory(app=app, username="alice")
    staff_with("view_enduser", "view_app")
    admin_login(page, live_server, "viewer", "a long, uncommon passphrase")
    page.goto(f"{live_server.url}/admin/accounts/enduser/{alice.id}/change/")
    shown = page.inner_text("#content")
    assert "alice" in shown and "algorithm" in shown and alice.password not in shown
    screenshot(page, "admin-end-user-password-summary")
    page.goto(f"{live_server.url}/admin/accounts/app/{app.id}/change/")
    shown = page.inner_text("#content")
    assert app.app_key in shown
    for secret in (app.master_key, app.hook_key, app.test_phone_code):
        assert secret not in shown and secret not in page.content()
    screenshot(page, "admin-app-without-secrets")
