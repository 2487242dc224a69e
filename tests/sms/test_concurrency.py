"""Limits hold when many requests race through several real server processes."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.live import wait_until
from tests.support import assert_error, sign_header, unique_phone

pytestmark = pytest.mark.live

CALLS = 50


def race(stack, app, phone):
    barrier = threading.Barrier(CALLS)
    headers = {"X-LC-Id": app.app_id, "Content-Type": "application/json;charset=utf-8"}

    def call(_):
        barrier.wait()
        return requests.post(
            stack.api("requestSmsCode"), json={"mobilePhoneNumber": phone},
            headers={**headers, "X-LC-Sign": sign_header(app.app_key)}, timeout=60,
        )

    with ThreadPoolExecutor(CALLS) as pool:
        return list(pool.map(call, range(CALLS)))


def delivered(phone, count):
    return Message.objects.filter(phone=phone, status=MessageStatus.DELIVERED).count() == count


def test_fifty_simultaneous_requests_send_exactly_one_sms(live_stack, live_app):
    phone = unique_phone()
    responses = race(live_stack, live_app, phone)
    assert Counter(r.status_code for r in responses) == {200: 1, 400: CALLS - 1}
    for refused in (r for r in responses if r.status_code != 200):
        assert_error(refused, Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")
    wait_until(lambda: delivered(phone, 1), what="the one message to be delivered")
    assert Message.objects.filter(phone=phone).count() == 1
    assert len(live_stack.outbox.wait_for(phone, 1)) == 1


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0, limit_verification_per_24h=10)
def test_a_daily_cap_holds_exactly_under_a_race(live_stack, live_app):
    phone = unique_phone()
    responses = race(live_stack, live_app, phone)
    assert Counter(r.status_code for r in responses) == {200: 10, 400: CALLS - 10}
    for refused in (r for r in responses if r.status_code != 200):
        assert_error(refused, Errors.SMS_TOO_FREQUENT)
    wait_until(lambda: delivered(phone, 10), what="ten messages to be delivered")
    assert Message.objects.filter(phone=phone).count() == 10
    assert len(live_stack.outbox.wait_for(phone, 10)) == 10
