import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import App
from tests.support import unique_phone

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_app_prints_its_keys_and_they_work(client_of, outbox):
    printed = json.loads(run("create_app", "--name", "天东商城"))
    assert set(printed) == {"appId", "appKey", "masterKey"}
    app = App.objects.get(app_id=printed["appId"])
    assert (app.app_key, app.master_key, app.name) == (printed["appKey"], printed["masterKey"], "天东商城")
    assert len(app.hook_key) == 24 and app.hook_key not in (app.app_key, app.master_key)
    client = client_of(app)
    phone = unique_phone()
    assert client.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone}).status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith("【天东商城】")


def test_create_app_takes_given_keys():
    printed = json.loads(run("create_app", "--name", "X", "--app-id", "myAppId123456",
                             "--app-key", "myAppKey123456", "--master-key", "myMasterKey123"))
    assert printed == {"appId": "myAppId123456", "appKey": "myAppKey123456", "masterKey": "myMasterKey123"}


def test_create_app_refuses_a_taken_id_and_bad_keys():
    run("create_app", "--name", "X", "--app-id", "takenAppId123")
    with pytest.raises(CommandError, match="app_id"):
        run("create_app", "--name", "Y", "--app-id", "takenAppId123")
    with pytest.raises(CommandError, match="app_key"):
        run("create_app", "--name", "Y", "--app-key", "has spaces!")
    assert App.objects.count() == 1


def test_app_settings_prints_and_changes_settings():
    app_id = json.loads(run("create_app", "--name", "X"))["appId"]
    shown = json.loads(run("app_settings", app_id))
    assert shown["appId"] == app_id
    assert shown["limit_interval_seconds"] == 10
    assert shown["international_sms_enabled"] is False
    assert set(App.SETTINGS) <= set(shown)
    changed = json.loads(run("app_settings", app_id, "international_sms_enabled=true",
                             "limit_per_minute=3", "test_phone_number=18600000009",
                             "engine_url=http://127.0.0.1:3000"))
    assert changed["international_sms_enabled"] is True
    assert changed["limit_per_minute"] == 3
    assert changed["test_phone_number"] == "+8618600000009"
    app = App.objects.get(app_id=app_id)
    assert (app.international_sms_enabled, app.limit_per_minute, app.engine_url) == (True, 3, "http://127.0.0.1:3000")


@pytest.mark.parametrize("change, message", [
    ("nosuch=1", "Unknown setting"),
    ("limit_per_minute=many", "limit_per_minute"),
    ("international_sms_enabled=perhaps", "international_sms_enabled"),
    ("test_phone_number=123", "test_phone_number"),
    ("timezone=Mars/Olympus", "timezone"),
    ("missing-equals", "NAME=VALUE"),
    ("force_captcha=true captcha_enabled=false", "force_captcha"),
])
def test_app_settings_refuses_bad_changes_and_changes_nothing(change, message):
    app_id = json.loads(run("create_app", "--name", "X"))["appId"]
    before = App.objects.get(app_id=app_id).settings_dict()
    with pytest.raises(CommandError, match=message):
        run("app_settings", app_id, "limit_interval_seconds=0", *change.split(" "))
    assert App.objects.get(app_id=app_id).settings_dict() == before


def test_app_settings_of_an_unknown_app():
    with pytest.raises(CommandError, match="No app"):
        run("app_settings", "nosuchapp")


def test_bootstrap_demo_is_idempotent(settings):
    settings.DEBUG = True  # as `make run` runs it: admin/admin is for a laptop's demo only
    first = run("bootstrap_demo")
    second = run("bootstrap_demo")
    assert App.objects.count() == 1
    keys = json.loads(first.splitlines()[1])
    assert json.loads(second.splitlines()[1]) == keys
    assert "admin / admin" in first
    # The demo's account has the free quota and, once, a gift to try voice codes with.
    from accounts.selectors import balances

    demo = balances(App.objects.get().account_id)
    assert (demo.free_sms, demo.gift_balance) == (100, 10)
