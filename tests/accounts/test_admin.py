import pytest
from django.contrib.auth import get_user_model

from accounts.models import App
from tests.support import make_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("operator", password="pw")
    client.force_login(user)
    return client


def test_app_change_page_shows_keys_read_only_and_edits_settings(staff):
    app = make_app()
    page = staff.get(f"/admin/accounts/app/{app.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert app.app_key in html and app.master_key in html
    assert 'name="app_key"' not in html
    assert 'name="limit_per_minute"' in html


def test_creating_an_app_in_the_admin_generates_its_keys(staff):
    account = make_app().account
    form = {field: "" for field in ("app_id", "app_key", "master_key", "hook_key", "sms_signature",
                                     "test_phone_number", "engine_url")}
    form.update({
        "account": account.id, "name": "Admin-made", "timezone": "Asia/Shanghai", "test_phone_code": "123456",
        "sms_code_service_enabled": "on", "captcha_enabled": "on", "sms_login_enabled": "on",
        "limit_interval_seconds": 10, "limit_per_minute": 1, "limit_verification_per_24h": 10,
        "limit_voice_per_30s": 1, "limit_voice_per_hour": 3, "limit_voice_per_day": 5,
    })
    response = staff.post("/admin/accounts/app/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    app = App.objects.get(name="Admin-made")
    assert len(app.app_id) == 24 and len(app.app_key) == 24 and len(app.master_key) == 24


def end_user(app, username, phone="", verified=False):
    from accounts.models import EndUser

    return EndUser.objects.create(app=app, username=username, password="!", mobile_phone_number=phone,
                                  mobile_phone_verified=verified)


def test_end_users_search_by_number_username_or_object_id_and_filter_by_app_and_verified(staff):
    app, other = make_app(), make_app()
    alice = end_user(app, "alice", "+8618600003333", verified=True)
    end_user(other, "bob", "+8618600004444")
    page = "/admin/accounts/enduser/"
    for query in ("186 0000 3333", "alice", alice.object_id):
        listing = staff.get(page, {"q": query}).content.decode()
        assert "alice" in listing and "bob" not in listing, query
    listing = staff.get(page, {"app__id__exact": other.id}).content.decode()
    assert "bob" in listing and "alice" not in listing
    listing = staff.get(page, {"mobile_phone_verified__exact": "1"}).content.decode()
    assert "alice" in listing and "bob" not in listing


def test_an_end_users_page_shows_its_sessions_and_the_action_ends_them(staff):
    from accounts.models import Session

    alice = end_user(make_app(), "alice")
    Session.objects.create(user=alice, token_hash="a" * 64)
    Session.objects.create(user=alice, token_hash="b" * 64)
    page = staff.get(f"/admin/accounts/enduser/{alice.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert alice.object_id in html and "sessions-TOTAL_FORMS" in html and 'value="2"' in html
    assert 'name="password"' not in html
    response = staff.post("/admin/accounts/enduser/", {"action": "end_sessions", "_selected_action": [alice.id]})
    assert response.status_code == 302
    assert not Session.objects.exists()


def test_sessions_list_by_app(staff):
    from accounts.models import Session

    app, other = make_app(), make_app()
    Session.objects.create(user=end_user(app, "alice"), token_hash="a" * 64)
    Session.objects.create(user=end_user(other, "bob"), token_hash="b" * 64)
    listing = staff.get("/admin/accounts/session/", {"user__app__id__exact": app.id}).content.decode()
    assert "alice" in listing and "bob" not in listing


def test_hook_attempts_are_listed_with_their_outcome(staff):
    from accounts.models import HookAttempt

    app = make_app()
    alice, bob = end_user(app, "alice"), end_user(app, "bob")
    HookAttempt.objects.create(app=app, user=alice, url="http://engine/1.1/functions/onVerified/sms", attempt=1,
                               status_code=200, succeeded=True, duration_ms=12)
    HookAttempt.objects.create(app=app, user=bob, url="http://engine/1.1/functions/onVerified/sms", attempt=2,
                               status_code=401, error="Hook key check failed", duration_ms=7)
    listing = staff.get("/admin/accounts/hookattempt/").content.decode()
    assert "Hook key check failed" in listing and "401" in listing
    listing = staff.get("/admin/accounts/hookattempt/", {"succeeded__exact": "0"}).content.decode()
    assert "bob" in listing and "alice" not in listing
    attempt = HookAttempt.objects.get(user=alice)
    assert staff.get(f"/admin/accounts/hookattempt/{attempt.id}/change/").status_code == 200
