"""The SMPP bind against the stand-in SMSC (tests/smsc.py) over real loopback sockets.

No database. Waits are on conditions with timeouts, never on fixed sleeps; no timing is asserted.
"""
import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django
import pytest
from django.apps import apps

if not apps.ready:  # run without pytest-django (-p no:django --noconftest): sms.carriers imports models
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # the suite's key: DEBUG is off
    django.setup()

from sms.carriers.smpp import (  # noqa: E402
    BindRefused,
    BindState,
    Outcome,
    SmppBind,
    SmppMessage,
    count_parts,
)
from tests.smsc import ESME_RMSGQFUL, ESME_RSUBMITFAIL, ESME_RTHROTTLED, running_smsc  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


class Receipts:
    """What the bind's receipt callback was given, with a way to wait for it."""

    def __init__(self):
        self._cond = threading.Condition()
        self.items = []
        self.calls = 0

    def __call__(self, receipts):
        with self._cond:
            self.items.extend(receipts)
            self.calls += 1
            self._cond.notify_all()

    def wait(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.items) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{len(self.items)} receipts of {count} after {timeout}s"
                self._cond.wait(remaining)
            return list(self.items)

    def by_id(self):
        with self._cond:
            return {r.message_id: r for r in self.items}


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def smsc():
    with running_smsc() as server:
        yield server


@pytest.fixture
def receipts():
    return Receipts()


@pytest.fixture
def make_bind(receipts):
    binds = []

    def make(port, *, start=True, **options):
        settings = dict(system_id="smsp", password="secret", source_addr="Brand", reconnect_backoff=0.05,
                        reconnect_backoff_max=0.2, response_timeout=3.0, unreachable_after=10.0,
                        on_receipts=receipts)
        settings.update(options)
        bind = SmppBind("127.0.0.1", port, **settings)
        binds.append(bind)
        if start:
            bind.start()
        return bind

    yield make
    for bind in binds:
        bind.close(timeout=2)


def msg(ref, to, text="Your code is 123456", source=None):
    return SmppMessage(ref, to, text, source)


def by_destination(messages):
    return {m["destination"]: m for m in messages}


# -------------------------------------------------------------------------- binding


def test_binds_once_as_transceiver_and_keeps_the_bind_across_submits(smsc, make_bind):
    bind = make_bind(smsc.port)
    assert bind.wait_bound(5)
    for batch in range(3):
        results = bind.submit([msg(f"{batch}-{i}", f"+86138000{batch}{i:04d}") for i in range(5)])
        assert all(r.accepted for r in results)
    binds = smsc.binds()
    assert [(b["system_id"], b["mode"], b["open"]) for b in binds] == [("smsp", "trx", True)]
    assert binds[0]["submits"] == 15
    stats = bind.stats()
    assert stats["state"] == "bound" and stats["binds"] == 1 and stats["reconnects"] == 0
    assert stats["submitted"] == stats["accepted"] == 15


def test_refused_bind_is_reported_and_retried_with_backoff(smsc, make_bind):
    bind = make_bind(smsc.port, password="wrong", unreachable_after=0.3)
    smsc.wait_for(lambda s: len(s.bind_attempts()) >= 3, message="three bind attempts")
    assert {a["status"] for a in smsc.bind_attempts()} == {0x0E}
    assert bind.state is BindState.REFUSED
    assert not bind.bound
    assert isinstance(bind.last_error, BindRefused)
    assert bind.last_error.status == 0x0E
    assert bind.last_error.status_name == "ESME_RINVPASWD"
    assert "ESME_RINVPASWD" in bind.stats()["last_error"]
    # not a hot loop: the wait between attempts doubles (0.05, 0.1, then the 0.2 cap)
    assert bind.stats()["reconnect_backoff"] >= 0.1

    [result] = bind.submit([msg("r", "+8613800138000")])
    assert result.outcome is Outcome.FAILED
    assert "carrier unreachable" in result.error and "ESME_RINVPASWD" in result.error
    assert smsc.received() == []

    smsc.configure(credentials={"smsp": "wrong"})  # the carrier fixes its side: the retries bind
    assert bind.wait_bound(5)
    assert bind.submit([msg("r2", "+8613800138000")])[0].accepted


def test_unknown_system_id_is_refused_with_its_status(smsc, make_bind):
    bind = make_bind(smsc.port, system_id="nobody")
    wait_until(lambda: isinstance(bind.last_error, BindRefused), what="a refused bind")
    assert bind.last_error.status_name == "ESME_RINVSYSID"


def test_several_binds_at_once_each_gets_its_own_receipts(make_bind):
    with running_smsc(credentials={"smsp": "secret", "other": "pw"}, max_binds=2) as smsc:
        first, second = Receipts(), Receipts()
        a = make_bind(smsc.port, on_receipts=first)
        b = make_bind(smsc.port, on_receipts=second)
        c = make_bind(smsc.port, system_id="other", password="pw", on_receipts=Receipts())
        assert a.wait_bound(5) and b.wait_bound(5) and c.wait_bound(5)
        third = make_bind(smsc.port)  # a third bind of smsp is over the SMSC's limit
        wait_until(lambda: third.last_error is not None, what="the third bind refused")
        assert third.last_error.status_name == "ESME_RBINDFAIL"
        [ra] = a.submit([msg("a", "+8613800138000")])
        [rb] = b.submit([msg("b", "+8613800138001")])
        assert first.wait(1)[0].message_id == ra.message_ids[0]
        assert second.wait(1)[0].message_id == rb.message_ids[0]
        assert smsc.open_binds() == 3


def test_close_unbinds(smsc, make_bind):
    bind = make_bind(smsc.port)
    assert bind.wait_bound(5)
    bind.close()
    assert bind.state is BindState.CLOSED
    assert smsc.stats["unbinds"] == 1
    smsc.wait_for(lambda s: s.open_binds() == 0, message="the connection closed")
    [result] = bind.submit([msg("late", "+8613800138000")])
    assert result.failed and "closed" in result.error


# -------------------------------------------------------------------------- texts


def test_latin_and_chinese_texts(smsc, make_bind):
    bind = make_bind(smsc.port)
    latin = "Hello José, your code is 123456 (valid 10 min) @ £5 Ñ§¿"
    chinese = "【BenchApp】您的验证码是：123456，请在10分钟内完成验证。"
    results = bind.submit([msg("latin", "+8613800138000", latin), msg("zh", "+8613800138001", chinese)])
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert [r.reference for r in results] == ["latin", "zh"]
    assert [r.parts for r in results] == [1, 1]
    got = by_destination(smsc.wait_messages(2))
    assert got["8613800138000"]["text"] == latin
    assert got["8613800138000"]["data_coding"] == 0
    assert got["8613800138000"]["dest_addr_ton"] == 1
    assert got["8613800138000"]["source"] == "Brand"
    assert got["8613800138001"]["text"] == chinese
    assert got["8613800138001"]["data_coding"] == 8
    assert got["8613800138000"]["message_ids"] == list(results[0].message_ids)
    assert got["8613800138001"]["message_ids"] == list(results[1].message_ids)


def test_chinese_text_of_150_characters_goes_in_three_parts_reassembled_whole(smsc, make_bind):
    bind = make_bind(smsc.port)
    text = ("您正在使用验证服务，验证码是一二三四五六，十分钟内有效。" * 6)[:150]
    assert len(text) == 150 and count_parts(text) == 3
    [result] = bind.submit([msg("long", "+8613800138000", text)])
    assert result.accepted and result.parts == 3
    assert len(result.message_ids) == 3 and len(set(result.message_ids)) == 3
    [message] = smsc.wait_messages(1)
    assert message["text"] == text
    assert message["parts"] == 3
    assert message["data_coding"] == 8
    assert message["message_ids"] == list(result.message_ids)
    assert message["part_octets"] == [134, 134, 32]  # 67 + 67 + 16 UCS-2 characters
    assert len(smsc.received()) == 3


def test_gsm_extension_characters_count_double_and_are_never_split(smsc, make_bind):
    bind = make_bind(smsc.port)
    eighty_euros = "€" * 80  # 160 septets: still one part
    escape_at_the_cut = "a" * 152 + "€" + "b" * 10  # 165 septets: the € would straddle septet 153
    brackets = "[code]{123}~^|\\" * 12  # extension characters throughout
    surrogate_at_the_cut = "x" * 66 + "😀" + "y" * 10  # UCS-2: the pair would straddle unit 67
    texts = [eighty_euros, escape_at_the_cut, brackets, surrogate_at_the_cut]
    assert [count_parts(t) for t in texts] == [1, 2, 2, 2]
    results = bind.submit([msg(i, f"+861380013800{i}", t) for i, t in enumerate(texts)])
    assert all(r.accepted for r in results)
    assert [r.parts for r in results] == [1, 2, 2, 2]
    got = by_destination(smsc.wait_messages(4))
    for i, text in enumerate(texts):
        assert got[f"861380013800{i}"]["text"] == text
    assert got["8613800138000"]["data_coding"] == 0
    assert got["8613800138000"]["part_octets"] == [160]
    assert got["8613800138001"]["part_octets"] == [152, 12]  # the € (ESC + code) moved to part 2
    assert all(octets <= 153 for octets in got["8613800138002"]["part_octets"])
    assert got["8613800138003"]["data_coding"] == 8
    assert got["8613800138003"]["part_octets"] == [132, 24]


def test_invalid_items_fail_alone(smsc, make_bind):
    bind = make_bind(smsc.port)
    results = bind.submit([msg("bad", "13800138000"), msg("ok", "+8613800138000"),
                           msg("huge", "+8613800138001", "x" * 153 * 256)])
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.ACCEPTED, Outcome.FAILED]
    assert "E.164" in results[0].error
    assert "255" in results[2].error
    assert len(smsc.received()) == 1


def test_source_override(smsc, make_bind):
    bind = make_bind(smsc.port)
    bind.submit([msg(1, "+8613800138000", source="+8610690000"), msg(2, "+8613800138001", source="Other")])
    got = by_destination(smsc.wait_messages(2))
    assert got["8613800138000"]["source"] == "8610690000"
    assert got["8613800138001"]["source"] == "Other"


# -------------------------------------------------------------------------- receipts


def test_receipt_for_each_message_reaches_the_callback_with_its_id_and_state(make_bind, receipts):
    with running_smsc(outcomes={"86139": "UNDELIV", "86137": ("EXPIRED", "027")}) as smsc:
        bind = make_bind(smsc.port)
        long_text = "Your verification code is 123456. " * 6  # 2 GSM parts
        results = bind.submit([
            msg("ok", "+8613800138000"),
            msg("undeliv", "+8613900139000"),
            msg("expired", "+8613700137000"),
            msg("long", "+8613800138001", long_text),
        ])
        assert all(r.accepted for r in results)
        ids = {r.reference: r.message_ids for r in results}
        assert len(ids["long"]) == 2
        receipts.wait(5)
        got = receipts.by_id()
        assert set(got) == {i for part_ids in ids.values() for i in part_ids}
        assert got[ids["ok"][0]].state == "delivered" and got[ids["ok"][0]].error_code == "000"
        assert got[ids["undeliv"][0]].state == "undeliverable"
        assert got[ids["undeliv"][0]].stat == "UNDELIV"
        assert got[ids["expired"][0]].state == "expired" and got[ids["expired"][0]].error_code == "027"
        assert all(got[i].state == "delivered" for i in ids["long"])
        assert all(r.final for r in got.values())
        assert got[ids["ok"][0]].source_addr == "8613800138000"
        smsc.wait_for(lambda s: s.stats["receipts_acked"] == 5, message="every deliver_sm answered")
        assert bind.stats()["receipts"] == 5


@pytest.mark.parametrize("tlvs,text,esm_class", [(True, False, 0x04), (False, True, 0x04), (False, True, 0x00)],
                         ids=["tlvs-only", "text-only", "text-only-esm-class-0"])
def test_receipts_are_recognised_by_tlvs_or_by_text(make_bind, receipts, tlvs, text, esm_class):
    with running_smsc(receipt_tlvs=tlvs, receipt_text=text, receipt_esm_class=esm_class,
                      outcomes={"86139": "UNDELIV"}) as smsc:
        bind = make_bind(smsc.port)
        results = bind.submit([msg(1, "+8613800138000"), msg(2, "+8613900139000")])
        receipts.wait(2)
        got = receipts.by_id()
        assert got[results[0].message_ids[0]].state == "delivered"
        assert got[results[1].message_ids[0]].state == "undeliverable"


def test_receipts_with_tlvs_smpplib_cannot_parse_are_still_read(make_bind, receipts, caplog):
    # delivery_failure_reason (0x0425) and dest_addr_subunit (0x0005) make smpplib 2.2.4 raise KeyError
    # in a deliver_sm; 0x1401 is a vendor TLV (skipped)
    extra = {0x0425: b"\x01", 0x0005: b"\x01", 0x1401: b"vendor"}
    caplog.set_level(logging.DEBUG, logger="sms.carriers.smpp.bind")
    with running_smsc(receipt_extra_tlvs=extra, outcomes={"86139": "UNDELIV"}) as smsc:
        bind = make_bind(smsc.port)
        results = bind.submit([msg(1, "+8613800138000"), msg(2, "+8613900139000")])
        receipts.wait(2)
        got = receipts.by_id()
        assert got[results[0].message_ids[0]].state == "delivered"
        assert got[results[1].message_ids[0]].state == "undeliverable"
        smsc.wait_for(lambda s: s.stats["receipts_acked"] == 2 and not s.stats["receipt_errors"],
                      message="both receipts answered ESME_ROK")
    # the bind reads deliver_sm itself (smpplib only for what it cannot read): no parse error logged
    assert "cannot parse deliver_sm" not in caplog.text


def test_receipt_arriving_before_the_submit_answer_still_reaches_the_callback(make_bind, receipts):
    with running_smsc(receipt_before_resp=True) as smsc:
        bind = make_bind(smsc.port)
        results = bind.submit([msg(i, f"+86138001380{i:02d}") for i in range(5)])
        assert all(r.accepted for r in results)
        receipts.wait(5)
        assert set(receipts.by_id()) == {r.message_ids[0] for r in results}
        assert bind.stats()["unknown"] == 0


def test_receipts_are_read_while_idle(make_bind, receipts):
    with running_smsc(receipt_delay=0.3) as smsc:
        bind = make_bind(smsc.port)
        [result] = bind.submit([msg(1, "+8613800138000")])
        assert result.accepted
        assert bind.stats()["in_flight"] == 0
        assert receipts.items == []  # nothing yet: the receipt comes 0.3 s later, with nothing being sent
        [receipt] = receipts.wait(1)
        assert receipt.message_id == result.message_ids[0]


def test_receipts_for_a_lost_bind_come_on_the_next_one(make_bind, receipts):
    with running_smsc(receipt_delay=0.3) as smsc:
        bind = make_bind(smsc.port)
        [result] = bind.submit([msg(1, "+8613800138000")])
        smsc.stop()  # before the receipt is due
        smsc.start()
        [receipt] = receipts.wait(1)
        assert receipt.message_id == result.message_ids[0]
        assert bind.stats()["reconnects"] == 1


def test_mo_messages_go_to_on_message(smsc, make_bind, receipts):
    inbound = []
    bind = make_bind(smsc.port, on_message=inbound.append)
    assert bind.wait_bound(5)
    assert smsc.send_mo("smsp", "8613800138000", "10690000", "TD")
    wait_until(lambda: inbound, what="the MO message")
    assert inbound[0].text == "TD" and inbound[0].source_addr == "8613800138000"
    assert receipts.items == []


# -------------------------------------------------------------------------- failures


def test_rejected_submit_comes_back_failed_with_its_status(make_bind):
    with running_smsc(reject={"86100": ESME_RSUBMITFAIL}) as smsc:
        bind = make_bind(smsc.port)
        results = bind.submit([
            msg("ok", "+8613800138000"),
            msg("rejected", "+8610000000000"),
            msg("rejected-long", "+8610000000001", "中文" * 40),
        ])
        assert results[0].accepted
        for result in results[1:]:
            assert result.outcome is Outcome.FAILED
            assert result.command_status == 0x45
            assert result.status_name == "ESME_RSUBMITFAIL"
            assert "ESME_RSUBMITFAIL" in result.error
        assert [m["destination"] for m in smsc.messages()] == ["8613800138000"]


@pytest.mark.parametrize("status", [ESME_RTHROTTLED, ESME_RMSGQFUL], ids=["RTHROTTLED", "RMSGQFUL"])
def test_throttling_slows_down_and_every_message_is_accepted_exactly_once(make_bind, status):
    with running_smsc(throttle_first=5, throttle_status=status) as smsc:
        bind = make_bind(smsc.port, throttle_backoff=0.05)
        messages = [msg(i, f"+86138001{i:05d}") for i in range(20)]
        results = bind.submit(messages)
        assert all(r.accepted for r in results), [r for r in results if not r.accepted]
        stats = bind.stats()
        assert stats["throttled"] == 5
        assert stats["effective_window"] < bind.window  # halved, and still growing back
        destinations = [m["destination"] for m in smsc.messages()]
        assert sorted(destinations) == sorted(m.to[1:] for m in messages)
        accepted = [r for r in smsc.received() if r["status"] == 0]
        assert len(accepted) == 20


def test_throttling_by_rate_every_message_accepted_exactly_once(make_bind):
    with running_smsc(throttle_per_second=25) as smsc:
        bind = make_bind(smsc.port, throttle_backoff=0.1)
        messages = [msg(i, f"+86138002{i:05d}") for i in range(40)]
        results = bind.submit(messages)
        assert all(r.accepted for r in results)
        assert bind.stats()["throttled"] > 0
        assert sorted(m["destination"] for m in smsc.messages()) == sorted(m.to[1:] for m in messages)


def test_smsc_stopped_and_restarted_messages_go_after_it_comes_back_once_each(smsc, make_bind):
    bind = make_bind(smsc.port)
    assert bind.submit([msg("before", "+8613800138000")])[0].accepted
    smsc.stop()
    wait_until(lambda: not bind.bound, what="the bind to notice")
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(bind.submit, [msg(i, f"+86138003{i:05d}") for i in range(12)])
        wait_until(lambda: bind.stats()["bind_failures"] >= 2, what="reconnect attempts while it is down")
        assert not future.done()
        smsc.start()
        results = future.result(10)
    assert all(r.accepted for r in results)
    received = smsc.received()
    assert len(received) == 13
    assert len({r["destination"] for r in received}) == 13
    assert {r["connection"] for r in received[1:]} == {2}  # all on the bind made after the restart
    assert bind.stats()["reconnects"] == 1


def test_carrier_unreachable_past_the_deadline(smsc, make_bind):
    bind = make_bind(smsc.port, unreachable_after=0.3)
    assert bind.wait_bound(5)
    smsc.stop()
    wait_until(lambda: not bind.bound, what="the bind to notice")
    results = bind.submit([msg(i, f"+86138004{i:05d}") for i in range(3)])
    assert [r.outcome for r in results] == [Outcome.FAILED] * 3
    assert all("carrier unreachable" in r.error for r in results)
    assert all(r.command_status is None for r in results)
    assert smsc.received() == []


def test_connection_dropped_mid_window_returns_the_in_flight_as_unknown_and_resends_none(smsc, make_bind):
    bind = make_bind(smsc.port, window=5)
    assert bind.wait_bound(5)
    smsc.configure(answer_submits=False)  # reads and takes the submits, answers none
    messages = [msg(i, f"+86138005{i:05d}") for i in range(8)]
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(bind.submit, messages)
        smsc.wait_for(lambda s: len(s.received()) == 5, message="a full window")
        assert bind.stats()["in_flight"] == 5
        smsc.drop_connections()
        smsc.configure(answer_submits=True)
        results = future.result(10)
    assert [r.outcome for r in results] == [Outcome.UNKNOWN] * 5 + [Outcome.ACCEPTED] * 3
    assert all("connection lost before the carrier answered" in r.error for r in results[:5])
    received = [r["destination"] for r in smsc.received()]
    assert sorted(received) == sorted(m.to[1:] for m in messages)  # each once: none re-sent
    assert bind.stats()["unknown"] == 5


def test_no_answer_within_the_response_timeout_is_unknown_and_not_resent(smsc, make_bind):
    bind = make_bind(smsc.port, response_timeout=0.3)
    assert bind.wait_bound(5)
    smsc.configure(answer_submits=False)
    [result] = bind.submit([msg(1, "+8613800138000")])
    assert result.outcome is Outcome.UNKNOWN
    assert "no submit_sm_resp" in result.error
    assert len(smsc.received()) == 1


def test_many_submits_in_flight_at_once_never_more_than_the_window(make_bind):
    with running_smsc(resp_delay=0.02) as smsc:
        bind = make_bind(smsc.port, window=10)
        results = bind.submit([msg(i, f"+86138006{i:05d}") for i in range(40)])
        assert all(r.accepted for r in results)
        assert 1 < smsc.max_outstanding() <= 10


def test_two_threads_submitting_at_once_share_the_window(make_bind):
    with running_smsc(resp_delay=0.01) as smsc:
        bind = make_bind(smsc.port, window=8)
        batches = [[msg((t, i), f"+8613{t}007{i:05d}") for i in range(30)] for t in range(2)]
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(bind.submit, batches))
        for batch, results in zip(batches, outcomes):
            assert [r.reference for r in results] == [m.reference for m in batch]
            assert all(r.accepted for r in results)
        ids = [i for results in outcomes for r in results for i in r.message_ids]
        assert len(ids) == len(set(ids)) == 60
        assert 1 < smsc.max_outstanding() <= 8
        assert len(smsc.messages()) == 60


# -------------------------------------------------------------------------- keep-alive


def test_enquire_link_when_idle_and_answers_the_smscs(smsc, make_bind):
    bind = make_bind(smsc.port, enquire_link_interval=0.1)
    assert bind.wait_bound(5)
    smsc.wait_for(lambda s: s.stats["enquire_links"] >= 2, message="enquire_link from the idle bind")
    assert smsc.send_enquire_link() == 1
    smsc.wait_for(lambda s: s.stats["enquire_link_resps"] >= 1, message="enquire_link_resp")
    assert bind.stats()["reconnects"] == 0


def test_unbind_from_the_smsc_is_answered_and_the_bind_comes_back(smsc, make_bind):
    bind = make_bind(smsc.port)
    assert bind.wait_bound(5)
    assert smsc.send_unbind() == 1
    smsc.wait_for(lambda s: s.stats["unbind_resps"] == 1, message="unbind_resp")
    wait_until(lambda: bind.stats()["reconnects"] == 1 and bind.bound, what="the bind back")
    assert bind.submit([msg(1, "+8613800138000")])[0].accepted


def test_missing_enquire_link_resp_means_a_dead_connection(make_bind):
    with running_smsc(answer_enquire_link=False) as smsc:
        bind = make_bind(smsc.port, enquire_link_interval=0.1, response_timeout=0.3)
        wait_until(lambda: bind.stats()["reconnects"] >= 1, what="a reconnect")
        assert len([b for b in smsc.binds() if b["mode"]]) >= 2


# -------------------------------------------------------------------------- out of process


def test_standin_as_a_subprocess_records_messages(tmp_path, make_bind):
    record = tmp_path / "messages.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.smsc", "--port", "0", "--record", str(record),
         "--credentials", "smsp:secret", "--outcome", "86139:UNDELIV"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "listening"
        bind = make_bind(ready["port"])
        results = bind.submit([msg(1, "+8613800138000", "中" * 100), msg(2, "+8613900139000")])
        assert all(r.accepted for r in results)
        lines = wait_until(lambda: record.exists() and len(record.read_text().splitlines()) == 2 and
                           record.read_text().splitlines(), what="two recorded messages")
        recorded = by_destination(json.loads(line) for line in lines)
        assert recorded["8613800138000"]["text"] == "中" * 100
        assert recorded["8613800138000"]["message_ids"] == list(results[0].message_ids)
        bind.close()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    stopped = json.loads(out.splitlines()[-1])
    assert stopped["event"] == "stopped" and stopped["stats"]["messages"] == 2


def test_the_hand_made_pdus_are_byte_for_byte_what_smpplib_makes():
    """The hot path writes submit_sm and deliver_sm_resp without smpplib's per-field machinery, and
    reads submit_sm_resp and deliver_sm itself: the same bytes, the same fields."""
    from smpplib import smpp

    from sms.carriers.smpp import bind as smpp_bind
    from sms.carriers.smpp.encoding import encode_text

    class Sequences:
        sequence = 0

        def next_sequence(self):
            self.sequence += 1
            return self.sequence

    class Conn:
        client = Sequences()

    texts = ["Your code is 123456", "【品牌】您的验证码是：123456，请在10分钟内完成验证。" * 3, "x" * 300, ""]
    sources = [("Brand", None, None), ("+8613800138000", None, None), ("10690000", None, None),
               ("AVeryLongAlphanumericSenderName", 5, 0)]
    for registered, service_type in ((1, ""), (0, "CMT")):
        for text in texts:
            for source, ton, npi in sources:
                bind = SmppBind("127.0.0.1", 1, "smsp", "secret", source_addr=source, source_addr_ton=ton,
                                source_addr_npi=npi, registered_delivery=registered, service_type=service_type)
                encoded = encode_text(text)
                for esm_class, short_message in encoded.short_messages(7):
                    part = smpp_bind._Part(None, 0, 0, esm_class, short_message, encoded.data_coding, "8613800138000",
                                           (bind.source_addr, bind.source_addr_ton, bind.source_addr_npi))
                    seq, ours = bind._submit_pdu_bytes(Conn, part)
                    theirs = bind._submit_pdu(Conn, part)
                    theirs.sequence = seq
                    assert ours == theirs.generate()
    for command in ("deliver_sm_resp", "data_sm_resp"):
        for status in (0, 0x08):
            made = smpp.make_pdu(command, client=smpp_bind._PARSER, status=status)
            made.sequence = 77
            command_id = smpp_bind._DELIVER_SM if command == "deliver_sm_resp" else smpp_bind._DATA_SM
            assert smpp_bind._HEADER.pack(17, command_id | 0x80000000, status, 77) + b"\x00" == made.generate()
    resp = smpp.make_pdu("submit_sm_resp", client=smpp_bind._PARSER, message_id="5f3a9c")
    resp.sequence = 3
    assert resp.generate()[16:].split(b"\x00", 1)[0].decode("latin-1") == "5f3a9c"
    receipt = smpp.make_pdu(
        "deliver_sm", client=smpp_bind._PARSER, source_addr_ton=1, source_addr_npi=1, source_addr="8613800138000",
        dest_addr_ton=5, dest_addr_npi=0, destination_addr="Brand", esm_class=0x04, data_coding=0,
        short_message=b"id:5f3a9c sub:001 dlvrd:001 submit date:2612020101 done date:2612020101 stat:DELIVRD err:000 text:",
        receipted_message_id="5f3a9c", message_state=2,
    )
    receipt.sequence = 9
    raw = receipt.generate()
    ours = smpp_bind._parse_deliver(raw)
    theirs = smpp.parse_pdu(raw, client=smpp_bind._PARSER, allow_unknown_opt_params=True)
    for field in ("source_addr", "destination_addr", "esm_class", "data_coding", "short_message", "message_state"):
        assert smpp_bind._text(getattr(ours, field)) == smpp_bind._text(getattr(theirs, field)), field
    assert smpp_bind._text(ours.receipted_message_id) == smpp_bind._text(theirs.receipted_message_id).strip("\x00")
