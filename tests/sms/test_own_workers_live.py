"""A test that starts its own workers (the worker-killed test) has the test database to itself: the
session's live stack, if an earlier test started it, is stopped, so that its worker's beat does not
settle the test's records (and deliver them through its own carriers, unseen by the test's SMSC)."""
import time

import pytest
from django.conf import settings

from sms.models import Message, MessageStatus

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not settings.REDIS_URL, reason="delivery loops run in Celery workers, with Redis"),
]
# recover-stuck-sending runs every 5 s (CELERY_BEAT_SCHEDULE); the worker may still be starting.
SAFETY_NET_WAIT = 12


@pytest.fixture
def stack_started_earlier(_session_stack):
    _session_stack.get()  # as an earlier live test of the session would have


def test_no_other_deployment_settles_the_records_of_a_test_with_its_own_workers(stack_started_earlier, own_workers,
                                                                                live_app):
    # Left `sending` by a loop that died (no heartbeat, nothing journaled), as the killed worker leaves
    # its batch: any beat on this database would give it back and queue it on its own worker's queue.
    message = Message.objects.create(app=live_app, phone="+8618700000001", text="【Brand】您的验证码是：******",
                                     status=MessageStatus.SENDING, claimed_by="gone:1:000000")
    time.sleep(SAFETY_NET_WAIT)
    message.refresh_from_db()
    assert (message.status, message.carrier) == (MessageStatus.SENDING, "")
