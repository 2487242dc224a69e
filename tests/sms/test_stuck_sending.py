"""Nothing stuck: `sending` messages whose holder died are settled by Celery beat's sweep; nothing is
sent twice: those that may have left the process end call failed, the others go (once) again."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from sms import delivery, send_records, tasks
from sms.models import Message, MessageStatus
from tests.factories import AppFactory
from tests.sms.carrier_support import accepted

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="delivery loops live with Redis")


def test_without_a_loop_a_sending_message_past_the_lease_is_call_failed_with_the_reason(settings):
    settings.SMS_SENDING_LEASE_SECONDS = 60
    app = AppFactory()
    old, fresh = accepted(app), accepted(app)
    send_records.claim([old.id, fresh.id])
    Message.objects.filter(id=old.id).update(claimed_at=timezone.now() - timedelta(minutes=5))
    tasks.recover_stuck_sending()
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == MessageStatus.CALL_FAILED and old.error == "worker lost before the carrier answered"
    assert old.sealed is None and not old.billed
    assert fresh.status == MessageStatus.SENDING


@needs_redis
def test_a_dead_loops_journaled_messages_end_call_failed_and_the_others_go_once(outbox):
    from smsplatform.redis_client import redis_client

    client = redis_client()
    app = AppFactory()
    journaled, unsent = accepted(app), accepted(app)
    send_records.claim([journaled.id, unsent.id], loop_id="deadhost:1:abc")
    client.sadd("smsp-loop:deadhost:1:abc:journal", journaled.id)  # its heartbeat key is long gone
    tasks.recover_stuck_sending()
    journaled.refresh_from_db()
    unsent.refresh_from_db()
    assert journaled.status == MessageStatus.CALL_FAILED and journaled.error == "worker lost before the carrier answered"
    assert unsent.status == MessageStatus.DELIVERED  # given back to accepted and queued again (inline here)
    assert len(outbox.messages(unsent.phone)) == 1 and outbox.messages(journaled.phone) == []
    assert not client.exists("smsp-loop:deadhost:1:abc:journal")


@needs_redis
def test_a_live_loops_messages_are_left_alone_and_an_expired_loop_cannot_journal(outbox):
    from sms.delivery_loop import DeliveryLoop

    loop = DeliveryLoop()  # not started: its heartbeat key is set, nothing runs
    app = AppFactory()
    message = accepted(app)
    send_records.claim([message.id], loop_id=loop.id)
    tasks.recover_stuck_sending()
    assert Message.objects.get(id=message.id).status == MessageStatus.SENDING
    loop.journal([message.id])
    loop.client.delete(loop.alive_key)  # the heartbeat expired (a stall, a partition): it never comes back
    with pytest.raises(delivery.LoopLost):
        loop.journal([message.id])
    tasks.recover_stuck_sending()
    assert Message.objects.get(id=message.id).status == MessageStatus.CALL_FAILED
    loop.client.delete(loop.journal_key)


@needs_redis
def test_a_loop_delivers_from_the_queue_in_batches_with_its_journal_emptied(outbox):
    from sms.delivery_loop import DeliveryLoop
    from sms.delivery_queue import get_delivery_queue

    app = AppFactory()
    messages = [accepted(app) for _ in range(7)]
    loop = DeliveryLoop(batch=5, linger_ms=5)
    get_delivery_queue().push([m.id for m in messages])
    assert loop._gather() == [m.id for m in messages[:5]]
    assert loop._gather() == [m.id for m in messages[5:]]
    loop.client.delete(loop.alive_key, loop.journal_key)
