"""The onVerified('sms') hook, called on a real LeanEngine app (npm leanengine 3.8.0)."""
import pytest
import requests

from accounts.models import HookAttempt
from accounts.services.on_verified_hook import HOOK_RETRY_DELAYS
from tests.accounts.support import code_for, sign_up, sign_up_by_phone
from tests.leanengine import leanengine
from tests.live import free_port, wait_until
from tests.support import session, sign_header, unique_phone

# Several messages go to one number in a test: no per-number spacing.
pytestmark = [pytest.mark.django_db, pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)]


def use_engine(app, url):
    app.engine_url = url
    app.save()


def verify_by_code(lc, outbox, phone):
    code = code_for(lc, outbox, phone, "/1.1/requestMobilePhoneVerify")
    response = lc.post(f"/1.1/verifyMobilePhone/{code}", raw="null")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_engine_runs_its_hook_with_the_verified_user(lc, app, outbox, tmp_path):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone, nickname="Al")
    with leanengine(app, tmp_path) as engine:
        use_engine(app, engine.url)
        verify_by_code(lc, outbox, phone)
        [call] = engine.wait_for_calls(1)
    assert call["objectId"] == user["objectId"]
    shown = lc.get("/1.1/users/me", **session(user["sessionToken"])).json()
    expected = {key: value for key, value in shown.items() if key != "sessionToken"}
    assert call["attributes"] == expected
    assert call["attributes"]["mobilePhoneVerified"] is True and call["attributes"]["nickname"] == "Al"
    assert call["createdAtIsDate"] is True
    [attempt] = HookAttempt.objects.all()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.attempt == 1 and attempt.error == ""
    assert attempt.url == f"{engine.url}/1.1/functions/onVerified/sms"
    assert attempt.user.object_id == user["objectId"] and attempt.app == app


def test_a_change_of_number_and_a_first_phone_sign_up_call_the_hook_but_a_phone_login_does_not(
        lc, app, outbox, tmp_path):
    with leanengine(app, tmp_path) as engine:
        use_engine(app, engine.url)
        phone = unique_phone()
        made = sign_up_by_phone(lc, outbox, phone)
        [first] = engine.wait_for_calls(1)
        assert first["objectId"] == made["objectId"] and first["attributes"]["mobilePhoneNumber"] == phone

        assert sign_up_by_phone(lc, outbox, phone)["objectId"] == made["objectId"]  # a login: no call

        new = unique_phone()
        mine = session(made["sessionToken"])
        code = code_for(lc, outbox, new, "/1.1/requestChangePhoneNumber", **mine)
        response = lc.post("/1.1/changePhoneNumber", {"mobilePhoneNumber": new, "code": code}, **mine)
        assert (response.status_code, response.json()) == (200, {})
        calls = engine.wait_for_calls(2)
    assert len(calls) == 2
    assert calls[1]["objectId"] == made["objectId"] and calls[1]["attributes"]["mobilePhoneNumber"] == new
    assert HookAttempt.objects.filter(succeeded=True).count() == 2


def test_the_engine_refuses_a_wrong_hook_key_and_the_number_stays_verified(lc, app, outbox, tmp_path):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone, nickname="Al")
    with leanengine(app, tmp_path, hook_key="not-the-apps-hook-key") as engine:
        use_engine(app, engine.url)
        verify_by_code(lc, outbox, phone)
        assert engine.calls() == []
    [attempt] = HookAttempt.objects.all()
    assert not attempt.succeeded and attempt.status_code == 401
    assert "Hook key check failed" in attempt.error
    assert lc.get("/1.1/users/me", **session(user["sessionToken"])).json()["mobilePhoneVerified"] is True


def test_an_unreachable_engine_is_tried_a_bounded_number_of_times(lc, app, outbox):
    phone = unique_phone()
    user = sign_up(lc, "alice", mobilePhoneNumber=phone, nickname="Al")
    use_engine(app, f"http://127.0.0.1:{free_port()}")
    verify_by_code(lc, outbox, phone)
    attempts = list(HookAttempt.objects.order_by("attempt"))
    assert [a.attempt for a in attempts] == list(range(1, len(HOOK_RETRY_DELAYS) + 2))
    assert all(not a.succeeded and a.status_code is None and "ConnectionError" in a.error for a in attempts)
    assert lc.get("/1.1/users/me", **session(user["sessionToken"])).json()["mobilePhoneVerified"] is True


def test_no_engine_no_call(lc, app, outbox):
    phone = unique_phone()
    sign_up(lc, "alice", mobilePhoneNumber=phone, nickname="Al")
    verify_by_code(lc, outbox, phone)
    assert not HookAttempt.objects.exists()


@pytest.mark.live
def test_the_hook_goes_out_from_the_running_service(live_stack, live_app, tmp_path):
    """Through gunicorn, and with a broker through the Celery worker."""
    phone = unique_phone()

    def call(path, body, **headers):
        response = requests.post(live_stack.api(path), json=body, timeout=30, headers={
            "X-LC-Id": live_app.app_id, "X-LC-Sign": sign_header(live_app.app_key), **headers})
        assert response.status_code in (200, 201), response.text
        return response.json()

    with leanengine(live_app, tmp_path) as engine:
        use_engine(live_app, engine.url)
        user = call("users", {"username": "alice", "password": "pw1", "mobilePhoneNumber": phone})
        call("requestMobilePhoneVerify", {"mobilePhoneNumber": phone})
        live_stack.outbox.wait_for(phone)
        call(f"verifyMobilePhone/{live_stack.outbox.last_code(phone)}", None)
        [received] = engine.wait_for_calls(1)
    assert received["objectId"] == user["objectId"]
    attempt = wait_until(lambda: HookAttempt.objects.filter(user__object_id=user["objectId"]).first(),
                         what="the hook attempt to be recorded")
    assert attempt.succeeded and attempt.status_code == 200
