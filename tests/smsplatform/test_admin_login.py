"""The admin's login: a lockout after failed passwords, a per-IP budget of attempts, and Django's
password validators for staff passwords (`smsplatform/admin_tools.py`, AUTH_PASSWORD_VALIDATORS)."""
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.browser import admin_login, screenshot

LOGIN = "/admin/login/?next=/admin/"
LOCKED = "Too many failed logins"


@pytest.fixture(autouse=True)
def _quick_password_hashes(settings):
    """PBKDF2's million rounds a guess would make these tests slow; any hasher shows the lockout."""
    from django.contrib.auth.hashers import get_hashers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    yield
    get_hashers.cache_clear()


def attempt(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and response.url == "/admin/"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("operator", password="a long, uncommon passphrase")


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, staff):
    for i in range(30):
        assert not logged_in(attempt(client, "operator", f"guess{i}"))
    refused = attempt(client, "operator", "a long, uncommon passphrase")
    # Locked (and, 31 attempts in, past the address's budget of attempts too).
    assert not logged_in(refused) and "Too many" in refused.content.decode()


def test_five_failures_lock_the_login_from_that_address_for_a_while(client, staff, settings):
    assert (settings.ADMIN_LOGIN_FAILURES_ALLOWED, settings.ADMIN_LOGIN_LOCKOUT_SECONDS) == (5, 900)
    for i in range(5):
        assert LOCKED not in attempt(client, "operator", f"guess{i}").content.decode()
    assert LOCKED in attempt(client, "operator", "a long, uncommon passphrase").content.decode()
    # From another address the operator still logs in.
    assert logged_in(attempt(client, "operator", "a long, uncommon passphrase", REMOTE_ADDR="10.2.2.2"))


def test_a_right_password_does_not_count_as_a_failure(client, staff):
    for _ in range(4):
        attempt(client, "operator", "wrong")
    assert logged_in(attempt(client, "operator", "a long, uncommon passphrase"))
    client.logout()
    assert logged_in(attempt(client, "operator", "a long, uncommon passphrase"))


def test_attempts_from_one_address_have_a_budget_across_usernames(client, db, settings):
    settings.RATELIMIT_ADMIN_LOGIN_PER_IP = "3/h"
    for name in ("a", "b", "c"):
        assert LOCKED not in attempt(client, name, "x").content.decode()
    assert "Too many login attempts" in attempt(client, "d", "x").content.decode()


def test_staff_passwords_pass_djangos_four_validators(settings):
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == ["UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
                     "NumericPasswordValidator"]


def test_the_demo_login_is_for_debug_only(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="too common|too short"):
        call_command("bootstrap_demo", "--admin-user", "admin", "--admin-password", "admin", verbosity=0)
    assert not get_user_model().objects.filter(username="admin").exists()


# --- in a browser ---------------------------------------------------------------------------------------

def test_the_lockout_in_a_browser(page, live_server, transactional_db):
    get_user_model().objects.create_superuser("operator", password="a long, uncommon passphrase")
    for i in range(5):
        admin_login(page, live_server, "operator", f"guess{i}")
        assert "Please enter the correct username and password" in page.inner_text("#content")
    admin_login(page, live_server, "operator", "a long, uncommon passphrase")
    assert LOCKED in page.inner_text("#content")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    screenshot(page, "admin-login-locked")


def test_a_weak_password_is_refused_in_a_browser(page, live_server, transactional_db):
    get_user_model().objects.create_superuser("operator", password="a long, uncommon passphrase")
    admin_login(page, live_server, "operator", "a long, uncommon passphrase")
    page.goto(f"{live_server.url}/admin/password_change/")
    page.fill("#id_old_password", "a long, uncommon passphrase")
    page.fill("#id_new_password1", "admin")
    page.fill("#id_new_password2", "admin")
    page.click("input[type=submit]")
    errors = page.inner_text("#content")
    assert "This password is too short" in errors and "This password is too common" in errors
    screenshot(page, "admin-weak-password-refused")
    assert get_user_model().objects.get(username="operator").check_password("a long, uncommon passphrase")
