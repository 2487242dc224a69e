"""The login lockout holds when many wrong logins race through several real server processes."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from smsplatform.errors import Errors
from tests.support import assert_error, sign_header

pytestmark = pytest.mark.live

CALLS = 30


def test_simultaneous_wrong_logins_get_exactly_seven_tries(live_stack, live_app):
    def headers():
        return {"X-LC-Id": live_app.app_id, "X-LC-Sign": sign_header(live_app.app_key)}

    signed_up = requests.post(live_stack.api("users"), json={"username": "alice", "password": "right"},
                              headers=headers(), timeout=30)
    assert signed_up.status_code == 201
    barrier = threading.Barrier(CALLS)

    def wrong_login(_):
        barrier.wait()
        return requests.post(live_stack.api("login"), json={"username": "alice", "password": "wrong"},
                             headers=headers(), timeout=60)

    with ThreadPoolExecutor(CALLS) as pool:
        responses = list(pool.map(wrong_login, range(CALLS)))
    assert Counter(r.json()["code"] for r in responses) == {210: 7, 219: CALLS - 7}
    for refused in responses:
        assert_error(refused, Errors.PASSWORD_MISMATCH if refused.json()["code"] == 210 else Errors.LOGIN_LOCKED)
    right = requests.post(live_stack.api("login"), json={"username": "alice", "password": "right"},
                          headers=headers(), timeout=30)
    assert_error(right, Errors.LOGIN_LOCKED)
