"""Charges hold when many requests race through several real server processes on one account."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.models import LedgerEntry, LedgerKind
from accounts.selectors import balances
from accounts.services import money
from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.factories import set_balances
from tests.live import wait_until
from tests.support import assert_error, sign_header, unique_phone

pytestmark = pytest.mark.live

CALLS = 50


def race(stack, app, phones):
    barrier = threading.Barrier(len(phones))
    headers = {"X-LC-Id": app.app_id, "Content-Type": "application/json;charset=utf-8"}

    def call(phone):
        barrier.wait()
        return requests.post(stack.api("requestSmsCode"), json={"mobilePhoneNumber": phone},
                             headers={**headers, "X-LC-Sign": sign_header(app.app_key)}, timeout=60)

    with ThreadPoolExecutor(len(phones)) as pool:
        return list(pool.map(call, phones))


# With money for 10 at 0.05, spread over the purses, no purse can pay alone: every charge locks them
# all. With 0.0625 in each purse (money for 40 with the default 32 purses), each pays one message
# alone (the one-statement charge, waiting for a busy purse when all are held) and the rest gather
# what is left.
@pytest.mark.parametrize("balance, paid_for", [
    ("0.50", 10), (str(Decimal("0.0625") * settings.BILLING_PURSES), int(Decimal("1.25") * settings.BILLING_PURSES)),
])
def test_fifty_simultaneous_sends_from_an_account_with_money_for_some_accept_exactly_those(
        live_stack, live_app, balance, paid_for):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent charging is a PostgreSQL promise (the embedded default serves one process)")
    set_balances(live_app.account, balance=balance, free_sms=0)  # messages at 0.05
    phones = [unique_phone() for _ in range(CALLS)]
    responses = race(live_stack, live_app, phones)
    assert Counter(r.status_code for r in responses) == {200: paid_for, 400: CALLS - paid_for}
    refused = [phone for phone, r in zip(phones, responses) if r.status_code != 200]
    for phone, response in zip(phones, responses):
        if response.status_code != 200:
            assert_error(response, Errors.INSUFFICIENT_BALANCE)
    assert balances(live_app.account_id).balance == 0
    assert Message.objects.filter(app=live_app).count() == paid_for
    assert LedgerEntry.objects.filter(account_id=live_app.account_id, kind=LedgerKind.CHARGE).count() == paid_for
    assert money.ledger_differences() == []
    live_stack.outbox.wait_for(next(p for p in phones if p not in refused), 1)
    # The refused requests counted nothing against their numbers: paid for now, each goes at once.
    money.recharge(account=live_app.account, amount="0.10", reason="top-up")
    for phone in refused[:2]:
        again = race(live_stack, live_app, [phone])[0]
        assert again.status_code == 200, again.content
    assert balances(live_app.account_id).balance == Decimal("0")
    # Delivered before the test ends (the worker must not be writing while the database is emptied).
    wait_until(lambda: Message.objects.filter(app=live_app, status=MessageStatus.DELIVERED).count() == paid_for + 2,
               what="every accepted message to be delivered")
