"""The official SDKs, unchanged but for the server URL, through the user API of a running server:
Python (leancloud 3.0.2 in .venv-sdk) and JS (leancloud-storage 4.15.2 with node)."""
import json
import os
import subprocess

import pytest

from accounts.models import EndUser
from smsplatform.errors import Errors
from tests.leanengine import JS_DIR
from tests.live import run_sdk_script
from tests.support import error_body, unique_phone

# Several codes go to one number within seconds: no per-number spacing.
pytestmark = [pytest.mark.live, pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)]


def run_js(script: str, env: dict) -> dict:
    assert (JS_DIR / "node_modules" / "leancloud-storage").exists(), "`make test` installs tests/e2e/js"
    finished = subprocess.run(["node", script], cwd=JS_DIR, env={"PATH": os.environ["PATH"], **env},
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout)


def check_flows(report: dict, phones: list[str], username: str, error, key=lambda name: name):
    """What both SDKs saw: the same flows, reported under each SDK's names; `error(kind)` is how the
    SDK's report shows the LeanCloud error `kind`."""
    first, second, third = phones
    sign_up = report[key("phone_sign_up")]
    user = EndUser.objects.get(object_id=sign_up["id"])
    assert user.username == first
    assert sign_up[key("phone")] == first and sign_up[key("verified")] is True and sign_up[key("has_token")]
    assert report[key("sms_login")] == {"id": sign_up["id"], key("new_token"): True}
    # After sign-up the SDK knows only the objectId, date and token: the flag was never true before.
    assert not report["verify"].get(key("before")) and report["verify"][key("after")] is True
    assert EndUser.objects.get(mobile_phone_number=second).mobile_phone_verified
    reset = report["reset"]
    assert reset["id"] == sign_up["id"] and reset[key("old_session_authenticated")] is False
    assert reset[key("old_password")] == error(Errors.PASSWORD_MISMATCH)
    assert report["change"] == {"phone": third, "verified": True}
    user.refresh_from_db()
    assert (user.mobile_phone_number, user.mobile_phone_verified) == (third, True)
    signed = report[key("sign_up")]
    assert signed[key("became")] == signed["id"] and signed["nickname"] == "Al" and signed["authenticated"] is True
    refresh = report["refresh"]
    assert refresh["changed"] is True and refresh[key("old_token")] == error(Errors.USER_NOT_FOUND)
    assert refresh[key("new_token_user")] == signed["id"]
    updated = report[key("update_password")]
    assert updated[key("login_with_new")] == signed["id"] and updated["nickname"] == "Ally"
    assert updated[key("login_with_old")] == error(Errors.PASSWORD_MISMATCH)
    assert updated[key("refreshed_token_after")] == error(Errors.USER_NOT_FOUND)
    assert EndUser.objects.get(username=username).custom == {"nickname": "Ally"}


def test_the_user_flows_through_the_python_sdk(live_stack, live_app):
    phones = [unique_phone() for _ in range(3)]
    report = run_sdk_script("sdk_python_users.py", stack=live_stack, app=live_app,
                            PHONES=",".join(phones), USERNAME="alice-py")
    assert report["phone_sign_up"]["username"] == phones[0]
    # The Python SDK's LeanCloudError holds the code and the text.
    check_flows(report, phones, "alice-py", error=error_body)


CAMEL = {
    "phone_sign_up": "phoneSignUp", "has_token": "hasToken", "sms_login": "smsLogin", "new_token": "newToken",
    "old_session_authenticated": "oldSessionAuthenticated", "old_password": "oldPassword", "sign_up": "signUp",
    "old_token": "oldToken", "new_token_user": "newTokenUser", "update_password": "updatePassword",
    "login_with_new": "loginWithNew", "login_with_old": "loginWithOld", "refreshed_token_after": "refreshedTokenAfter",
}


def test_the_user_flows_through_the_js_sdk(live_stack, live_app):
    phones = [unique_phone() for _ in range(3)]
    report = run_js("sdk_js_users.js", {
        "SERVER_URL": live_stack.url,
        "APP_ID": live_app.app_id,
        "APP_KEY": live_app.app_key,
        "PHONES": ",".join(phones),
        "USERNAME": "alice-js",
        "OUTBOX": str(live_stack.outbox.path),
    })
    assert report["phoneSignUp"]["createdAtIsDate"] is True and report["signUp"]["createdAtIsDate"] is True
    assert report["phoneSignUp"]["current"] == report["phoneSignUp"]["id"]
    # verifyMobilePhone answered {objectId, updatedAt} for the user whose number it was.
    verified = EndUser.objects.get(mobile_phone_number=phones[1])
    assert report["verify"]["answerId"] == verified.object_id and report["verify"]["answerHasUpdatedAt"]
    check_flows(report, phones, "alice-js", key=lambda name: CAMEL.get(name, name),
                error=lambda kind: {**error_body(kind), "status": kind.status})
