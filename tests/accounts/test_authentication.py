import hashlib
import json
import time

import pytest

from smsplatform.errors import Errors
from tests.support import LeanCloudClient, assert_error, sign_header, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/verifySmsCode/123456"


def call(app, **headers):
    # verifySmsCode with an unknown code: 603 means the keys were accepted, 401 that they were not.
    return LeanCloudClient().post(URL, {"mobilePhoneNumber": unique_phone()}, **headers)


def test_contract_worked_example_of_the_sign():
    digest = hashlib.md5(("1453014943466" + "UtOCzqb67d3sN12Kts4URwy8").encode()).hexdigest()
    assert digest == "d5bcbb897e19b2f6633c716dfdfaf9be"
    assert sign_header("UtOCzqb67d3sN12Kts4URwy8", timestamp="1453014943466") == f"{digest},1453014943466"


@pytest.mark.parametrize("form", ["app_key", "master_key", "app_sign", "master_sign"])
@pytest.mark.parametrize("legacy", [False, True])
def test_every_accepted_header_form(app, form, legacy):
    id_header = "HTTP_X_AVOSCLOUD_APPLICATION_ID" if legacy else "HTTP_X_LC_ID"
    key_header = "HTTP_X_AVOSCLOUD_APPLICATION_KEY" if legacy else "HTTP_X_LC_KEY"
    sign_name = "HTTP_X_AVOSCLOUD_REQUEST_SIGN" if legacy else "HTTP_X_LC_SIGN"
    value = {
        "app_key": (key_header, app.app_key),
        "master_key": (key_header, f"{app.master_key},master"),
        "app_sign": (sign_name, sign_header(app.app_key)),
        "master_sign": (sign_name, sign_header(app.master_key, master=True)),
    }[form]
    assert_error(call(app, **{id_header: app.app_id, value[0]: value[1]}), Errors.INVALID_SMS_CODE)


@pytest.mark.parametrize("headers", [
    lambda app: {},
    lambda app: {"HTTP_X_LC_KEY": app.app_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id},
    lambda app: {"HTTP_X_LC_ID": "nosuchapp1234", "HTTP_X_LC_KEY": app.app_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": app.app_key + "x"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": app.master_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": f"{app.app_key},master"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": f"{app.master_key},admin"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(app.master_key)},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(app.app_key, master=True)},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": "d5bcbb897e19b2f6633c716dfdfaf9be"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": "nothex,notatime"},
], ids=["none", "no-id", "no-key", "unknown-app", "wrong-key", "master-without-suffix",
        "app-key-as-master", "unknown-role", "master-signed-as-app", "app-signed-as-master",
        "sign-without-time", "garbage-sign"])
def test_anything_else_is_401(app, headers):
    assert_error(call(app, **headers(app)), Errors.UNAUTHORIZED)


def test_another_apps_key_does_not_open_this_app(app, app_with):
    other = app_with()
    response = call(app, HTTP_X_LC_ID=app.app_id, HTTP_X_LC_KEY=other.app_key)
    assert_error(response, Errors.UNAUTHORIZED)


# --- the freshness of a sign ------------------------------------------------------------------------------

def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.parametrize("timestamp", [lambda: "0", lambda: "1000", lambda: "99999999999999", lambda: "9" * 5000,
                                       lambda: str(now_ms() - 16 * 60 * 1000), lambda: str(now_ms() + 16 * 60 * 1000)],
                         ids=["zero", "1970", "year-5138", "5000-digits", "16-minutes-old", "16-minutes-ahead"])
@pytest.mark.parametrize("master", [False, True], ids=["app-sign", "master-sign"])
def test_a_sign_outside_the_window_is_401(app, timestamp, master):
    key = app.master_key if master else app.app_key
    headers = {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(key, master=master, timestamp=timestamp())}
    assert_error(call(app, **headers), Errors.UNAUTHORIZED)


@pytest.mark.parametrize("skew_minutes", [-14, 0, 14])
def test_a_sign_within_the_window_is_taken(app, settings, skew_minutes):
    assert settings.REQUEST_SIGN_MAX_SKEW_SECONDS == 15 * 60
    timestamp = str(now_ms() + skew_minutes * 60 * 1000)
    headers = {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(app.app_key, timestamp=timestamp)}
    assert_error(call(app, **headers), Errors.INVALID_SMS_CODE)


# --- rotating keys ----------------------------------------------------------------------------------------

def test_rotating_an_apps_keys_refuses_the_old_ones_at_once(app):
    from django.core.management import call_command
    from io import StringIO

    old_key, old_master = app.app_key, app.master_key
    assert_error(call(app, HTTP_X_LC_ID=app.app_id, HTTP_X_LC_KEY=old_key), Errors.INVALID_SMS_CODE)  # cached now
    out = StringIO()
    call_command("rotate_keys", app.app_id, stdout=out)
    printed = json.loads(out.getvalue())
    app.refresh_from_db()
    assert printed == {"appId": app.app_id, "appKey": app.app_key, "masterKey": app.master_key}
    assert app.app_key != old_key and app.master_key != old_master
    for headers in ({"HTTP_X_LC_KEY": old_key}, {"HTTP_X_LC_KEY": f"{old_master},master"},
                    {"HTTP_X_LC_SIGN": sign_header(old_key)}, {"HTTP_X_LC_SIGN": sign_header(old_master, master=True)}):
        assert_error(call(app, HTTP_X_LC_ID=app.app_id, **headers), Errors.UNAUTHORIZED)
    assert_error(call(app, HTTP_X_LC_ID=app.app_id, HTTP_X_LC_KEY=app.app_key), Errors.INVALID_SMS_CODE)


def test_the_hook_key_is_rotated_when_asked(app):
    from django.core.management import call_command
    from io import StringIO

    old = (app.app_key, app.master_key, app.hook_key)
    call_command("rotate_keys", app.app_id, "--hook-key", stdout=StringIO())
    app.refresh_from_db()
    assert (app.app_key, app.master_key) == old[:2] and app.hook_key != old[2]


def test_the_admin_action_rotates_the_keys_of_the_selected_apps(admin_client, app, app_with):
    other = app_with()
    old = {a.pk: (a.app_key, a.master_key) for a in (app, other)}
    response = admin_client.post("/admin/accounts/app/", {"action": "rotate_keys", "_selected_action": [app.pk]})
    assert response.status_code == 302
    app.refresh_from_db(), other.refresh_from_db()
    assert (app.app_key, app.master_key) != old[app.pk] and app.app_key != old[app.pk][0]
    assert app.master_key != old[app.pk][1]
    assert (other.app_key, other.master_key) == old[other.pk]
    assert_error(call(app, HTTP_X_LC_ID=app.app_id, HTTP_X_LC_KEY=old[app.pk][0]), Errors.UNAUTHORIZED)


def test_an_app_is_read_once_per_process_while_nothing_changes(app, django_assert_num_queries):
    """The check that a kept app is the last one saved costs a cache read, not a query."""
    from accounts.selectors import app_by_app_id

    app.save()  # publishes its version
    assert app_by_app_id(app.app_id).app_key == app.app_key
    with django_assert_num_queries(0):
        for _ in range(3):
            assert app_by_app_id(app.app_id).app_key == app.app_key
