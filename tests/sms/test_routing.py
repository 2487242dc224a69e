"""Routing as data, failover, and routes that prefer the best delivery rate."""
import random

import pytest

from sms import delivery, route_stats, routing
from sms.carriers.registry import get_registry
from sms.models import AttemptOutcome, DeliveryAttempt, Message, MessagePart, MessageStatus
from tests.factories import AppFactory
from tests.sms.carrier_support import accepted, make_carrier, make_route
from tests.sms.fake_carriers import sent_to

pytestmark = pytest.mark.django_db


def names(carriers):
    return [c.name for c in carriers]


def test_an_exact_country_code_wins_over_star_and_positions_order_routes():
    a, b, c = make_carrier("a"), make_carrier("b"), make_carrier("c")
    make_route([c], country_code="*", position=0)
    make_route([b], country_code="86", position=5)
    make_route([a], country_code="86", position=1)
    snapshot = get_registry().snapshot()
    assert names(routing.plan(snapshot, country_code="86", channel="sms")) == ["a"]
    assert names(routing.plan(snapshot, country_code="1", channel="sms")) == ["c"]


def test_disabled_routes_and_carriers_are_skipped_and_voice_takes_only_speaking_carriers():
    a, b = make_carrier("a", enabled=False), make_carrier("b")
    voice = make_carrier("v", kind="fakevoice")
    make_route([b], country_code="86", enabled=False)
    make_route([a, b], country_code="*", position=1)
    make_route([b, voice], country_code="*", channel="voice")
    snapshot = get_registry().snapshot()
    assert names(routing.plan(snapshot, country_code="86", channel="sms")) == ["b"]
    assert names(routing.plan(snapshot, country_code="86", channel="voice")) == ["v"]


def test_without_route_rows_every_enabled_carrier_in_settings_order_then_admin_order():
    make_carrier("zz")
    make_carrier("aa")
    make_carrier("off", enabled=False)
    snapshot = get_registry().snapshot()
    assert names(routing.plan(snapshot, country_code="86", channel="sms")) == ["console", "zz", "aa"]
    # voice: the same, filtered to carriers that can speak (the console prints the digits)
    assert names(routing.plan(snapshot, country_code="86", channel="voice")) == ["console"]


def test_the_country_calling_code_comes_from_the_number():
    assert routing.country_calling_code("+8613800138000") == "86"
    assert routing.country_calling_code("+15550000000") == "1"
    assert routing.country_calling_code("+442071838750") == "44"
    assert routing.country_calling_code("+85291234567") == "852"


def test_a_failing_carrier_passes_the_message_to_the_next_and_each_attempt_is_recorded():
    down = make_carrier("down", outcome="raise")
    refusing = make_carrier("refusing", outcome="failed")
    good = make_carrier("good")
    make_route([down, refusing, good])
    message = accepted(AppFactory())
    assert delivery.deliver_messages([message.id]) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.WAITING_RECEIPT
    assert message.carrier == "good" and message.attempts == 3 and message.sealed is None
    attempts = list(DeliveryAttempt.objects.filter(message=message).order_by("id"))
    assert [(a.carrier.name, a.outcome) for a in attempts] == [
        ("down", AttemptOutcome.FAILED), ("refusing", AttemptOutcome.FAILED), ("good", AttemptOutcome.ACCEPTED)]
    assert "connection refused" in attempts[0].error and attempts[1].error_code == "0x00000045"
    assert MessagePart.objects.filter(message=message).count() == 1
    assert len(sent_to("good")) == 1 and sent_to("good")[0].text == "【X】您的验证码是：123456"


def test_only_when_every_carrier_failed_does_the_message_end_call_failed_with_the_last_error():
    make_route([make_carrier("one", outcome="raise"), make_carrier("two", outcome="failed")])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    message.refresh_from_db()
    assert message.status == MessageStatus.CALL_FAILED
    assert message.carrier == "two" and message.error_code == "0x00000045"
    assert "every carrier of the route failed (2)" in message.error and "ESME_RSUBMITFAIL" in message.error
    assert message.sealed is None and not message.billed
    assert DeliveryAttempt.objects.filter(message=message).count() == 2


def test_an_unanswered_submit_is_never_retried_anywhere():
    make_route([make_carrier("mute", outcome="unknown"), make_carrier("good")])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    message.refresh_from_db()
    assert message.status == MessageStatus.CALL_FAILED
    assert "sent but unanswered, not retried" in message.error
    assert len(sent_to("mute")) == 1 and sent_to("good") == []


def test_a_route_with_no_usable_carrier_ends_call_failed_with_the_reason():
    make_route([make_carrier("off", enabled=False)])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    message.refresh_from_db()
    assert message.status == MessageStatus.CALL_FAILED and message.error_code == "no_route"
    assert "+86" in message.error


def test_carriers_of_one_batch_are_submitted_separately_and_recorded_together():
    a, b = make_carrier("a"), make_carrier("b", outcome="delivered")
    make_route([a], country_code="86")
    make_route([b], country_code="1")
    app = AppFactory()
    china = [accepted(app) for _ in range(3)]
    usa = [accepted(app, phone=f"+1202555{n:04d}") for n in range(2)]
    assert delivery.deliver_messages([m.id for m in china + usa]) == 5
    assert Message.objects.filter(carrier="a", status=MessageStatus.WAITING_RECEIPT).count() == 3
    assert Message.objects.filter(carrier="b", status=MessageStatus.DELIVERED).count() == 2


def test_best_delivery_rate_ranks_by_the_recent_window_with_a_neutral_prior():
    a, b, c = make_carrier("a"), make_carrier("b"), make_carrier("c")
    make_route([a, b, c], strategy="best_delivery_rate")
    snapshot = get_registry().snapshot()
    rates = {a.id: (10, 90), b.id: (95, 5)}  # c: unknown, starts at the route's pooled rate
    ranked = routing.plan(snapshot, country_code="86", channel="sms", rates=rates, prior_weight=20)
    assert names(ranked) == ["b", "c", "a"]
    # the exploration share sends some messages to another carrier first
    rng = random.Random(7)
    firsts = [routing.plan(snapshot, country_code="86", channel="sms", rates=rates, exploration=0.05, rng=rng)[0].name
              for _ in range(4000)]
    share = 1 - firsts.count("b") / len(firsts)
    assert 0.03 < share < 0.07


def test_best_delivery_rate_moves_traffic_away_from_a_failing_carrier_and_back_after_it_recovers(settings):
    import time

    settings.SMS_ROUTE_BUCKET_SECONDS = 1
    settings.SMS_ROUTE_WINDOW_SECONDS = 2
    a, b = make_carrier("a"), make_carrier("b")
    make_route([a, b], strategy="best_delivery_rate")
    snapshot = get_registry().snapshot()

    def share_of_a(n=500):
        route_stats._cache.update(at=0.0)
        rates = route_stats.rates([a.id, b.id], max_age=0)
        rng = random.Random(1)
        plans = [routing.plan(snapshot, country_code="86", channel="sms", rates=rates, exploration=0.2, rng=rng)
                 for _ in range(n)]
        return sum(p[0].name == "a" for p in plans) / n

    assert share_of_a() > 0.75  # no figures yet: the route's order
    route_stats.record({a.id: [5, 95], b.id: [97, 3]})  # a starts failing
    assert share_of_a() < 0.25
    time.sleep(2.2)  # the failures leave the window; the exploration share kept a's receipts coming: it recovered
    route_stats.record({a.id: [40, 0], b.id: [97, 3]})
    assert share_of_a() > 0.75
