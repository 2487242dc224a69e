"""The Twilio adapter against a local server that answers as Twilio's REST API does."""
import hashlib
import logging
import threading
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from sms.carriers.base import CarrierConfig, CarrierConfigError, Outcome, OutboundMessage
from sms.carriers.twilio import TwilioCarrier

from .fake_http import Answer, Unaccepting, closed_port
from .fake_twilio import ACCOUNT_SID, AUTH_TOKEN, OWNED_NUMBER, FakeTwilio, error, twilio_signature

PUBLIC = "https://sms.example.com"
CALLBACK = f"{PUBLIC}/carriers/twilio/receipts"
CODE_TEXT = "【测试】您的验证码是 123456，5分钟内有效。"


@pytest.fixture
def fake():
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def public_base(settings):
    settings.SMS_CALLBACK_BASE_URL = PUBLIC


@pytest.fixture
def make_carrier(fake):
    made = []

    def make(**params):
        params = {"from": OWNED_NUMBER, "api_base": fake.base_url, "read_timeout": "2", "connect_timeout": "1", **params}
        params = {k: v for k, v in params.items() if v is not None}
        carrier = TwilioCarrier(CarrierConfig("twilio", "twilio", ACCOUNT_SID, AUTH_TOKEN, params), receipts=lambda r: None)
        made.append(carrier)
        return carrier

    yield make
    for carrier in made:
        carrier.close()


class Journal:
    """Records each call and how many requests the fake server had seen by then."""

    def __init__(self, fake=None, fail=False):
        self.fake, self.fail, self.calls = fake, fail, []
        self.thread_ids = set()

    def __call__(self, ids):
        self.thread_ids.add(threading.get_ident())
        self.calls.append((list(ids), len(self.fake.requests) if self.fake else None))
        if self.fail:
            raise RuntimeError("database is down")

    @property
    def ids(self):
        return [i for ids, _ in self.calls for i in ids]


def sms(id=1, to="+8613800138000", text=CODE_TEXT, code="123456"):
    return OutboundMessage(id=id, to=to, text=text, channel="sms", app_id="app", code=code, signature="测试")


def voice(id=1, to="+8613800138000", text="123456", code="123456"):
    return OutboundMessage(id=id, to=to, text=text, channel="voice", app_id="app", code=code, signature="测试")


# --- SMS -------------------------------------------------------------------------------------------

def test_sms_goes_out_with_to_from_body_and_status_callback(fake, make_carrier):
    journal = Journal(fake)
    [result] = make_carrier().submit([sms(7)], journal=journal)

    assert result.outcome is Outcome.ACCEPTED and result.message_id == 7
    [request] = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert dict(request.form()) == {"To": "+8613800138000", "From": OWNED_NUMBER, "Body": CODE_TEXT, "StatusCallback": CALLBACK}
    [sid] = result.carrier_message_ids
    assert sid in fake.resources and sid.startswith("SM")
    assert result.wire_parts == 1
    assert journal.calls == [([7], 0)]  # journaled before the request reached the server


def test_a_long_message_counts_its_segments(fake, make_carrier):
    [result] = make_carrier().submit([sms(text="【测试】" + "很长的通知" * 20)], journal=Journal())
    assert result.outcome is Outcome.ACCEPTED and result.wire_parts == 2


def test_a_messaging_service_sends_without_from(fake, make_carrier):
    service = "MG" + "ab" * 16
    [result] = make_carrier(**{"from": None, "messaging_service_sid": service}).submit([sms()], journal=Journal())
    assert result.outcome is Outcome.ACCEPTED
    form = dict(fake.requests[0].form())
    assert form["MessagingServiceSid"] == service and "From" not in form


def test_without_a_public_base_url_it_sends_without_callback_and_says_so(fake, make_carrier, settings, caplog):
    settings.SMS_CALLBACK_BASE_URL = ""
    carrier = make_carrier()
    with caplog.at_level(logging.WARNING, logger="sms.carriers.twilio"):
        [result] = carrier.submit([sms()], journal=Journal())
        carrier.submit([sms(2)], journal=Journal())
    assert result.outcome is Outcome.ACCEPTED
    assert "StatusCallback" not in dict(fake.requests[0].form())
    assert [r.getMessage() for r in caplog.records].count(
        "Twilio carrier twilio: SMS_CALLBACK_BASE_URL is empty: messages go out without a status callback, "
        "so no receipt will come for them") == 1


# --- voice -----------------------------------------------------------------------------------------

def test_a_voice_call_speaks_exactly_the_six_digits(fake, make_carrier):
    journal = Journal(fake)
    [result] = make_carrier().submit([voice(3, code="123456", text="【测试】您的验证码是 123456")], journal=journal)

    assert result.outcome is Outcome.ACCEPTED
    [request] = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    form = request.form()
    fields = dict(form)
    assert fields["To"] == "+8613800138000" and fields["From"] == OWNED_NUMBER
    assert fields["StatusCallback"] == CALLBACK and [v for k, v in form if k == "StatusCallbackEvent"] == ["completed"]
    say = ET.fromstring(fields["Twiml"]).find("Say")
    assert say.text == "1 2 3 4 5 6" and say.get("language") == "zh-CN"
    assert result.carrier_message_ids == (fake.resources[result.carrier_message_ids[0]]["sid"],)
    assert journal.calls == [([3], 0)]


def test_a_voice_message_without_code_speaks_the_digits_of_its_text(fake, make_carrier):
    make_carrier().submit([voice(code="", text="您的验证码 9 8 7 6")], journal=Journal())
    assert ET.fromstring(dict(fake.requests[0].form())["Twiml"]).find("Say").text == "9 8 7 6"


def test_voice_needs_a_number_to_call_from_and_digits_to_speak(fake, make_carrier):
    journal = Journal()
    [no_digits] = make_carrier().submit([voice(code="", text="没有数字")], journal=journal)
    [alphanumeric] = make_carrier(**{"from": "Brand"}).submit([voice()], journal=journal)
    assert no_digits.outcome is Outcome.FAILED and alphanumeric.outcome is Outcome.FAILED
    assert fake.requests == [] and journal.calls == []  # refused before anything was written


# --- what Twilio refuses: FAILED with its code ---------------------------------------------------

def test_an_invalid_to_number_is_failed_with_code_21211(fake, make_carrier):
    [result] = make_carrier().submit([sms(to="+15005550001")], journal=Journal())
    assert result.outcome is Outcome.FAILED
    assert result.error_code == "21211"
    assert "Invalid 'To' Phone Number" in result.error
    assert result.carrier_message_ids == ()


def test_a_wrong_auth_token_is_failed_with_code_20003(fake, make_carrier):
    fake.auth_token = "0" * 32
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "20003")
    assert AUTH_TOKEN not in result.error


def test_a_twilio_error_5xx_is_failed_but_a_gateway_timeout_is_unknown(fake, make_carrier):
    carrier = make_carrier()
    fake.override = error(503, 20503, "Service Unavailable")
    [unavailable] = carrier.submit([sms(1)], journal=Journal())
    fake.override = Answer(504, b"<html>Gateway Time-out</html>", content_type="text/html")
    [gateway] = carrier.submit([sms(2)], journal=Journal())
    assert (unavailable.outcome, unavailable.error_code) == (Outcome.FAILED, "20503")
    assert gateway.outcome is Outcome.UNKNOWN and "504" in gateway.error


# --- the network: FAILED before the request is written, UNKNOWN after -----------------------------

def test_connection_refused_is_failed(make_carrier):
    journal = Journal()
    [result] = make_carrier(api_base=f"http://127.0.0.1:{closed_port()}").submit([sms()], journal=journal)
    assert result.outcome is Outcome.FAILED
    assert "could not connect" in result.error and "Connection refused" in result.error
    assert journal.ids == [1]


def test_a_connect_timeout_is_failed(make_carrier):
    listener = Unaccepting()
    try:
        [result] = make_carrier(api_base=f"http://127.0.0.1:{listener.port}", connect_timeout="0.3").submit(
            [sms()], journal=Journal())
    finally:
        listener.close()
    assert result.outcome is Outcome.FAILED and "connect timeout" in result.error


def test_a_server_that_reads_and_never_answers_is_unknown_and_was_journaled_first(fake, make_carrier):
    fake.mode = "hang"
    journal = Journal(fake)
    [result] = make_carrier(read_timeout="0.3").submit([sms(5)], journal=journal)
    assert result.outcome is Outcome.UNKNOWN and "read timeout" in result.error
    assert len(fake.requests) == 1          # the request was written...
    assert journal.calls == [([5], 0)]      # ...after the journal


def test_a_connection_reset_after_sending_is_unknown(fake, make_carrier):
    fake.mode = "reset"
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert result.outcome is Outcome.UNKNOWN and "connection lost" in result.error
    assert len(fake.requests) == 1


def test_no_error_text_repeats_the_request(fake, make_carrier):
    """requests' own exception texts hold the URL; the stored error must not (an Aliyun URL holds the code)."""
    fake.mode = "hang"
    [result] = make_carrier(read_timeout="0.2").submit([sms()], journal=Journal())
    assert fake.base_url not in result.error and "Messages.json" not in result.error


# --- batches ---------------------------------------------------------------------------------------

def test_a_batch_goes_out_concurrently_with_one_result_each(fake, make_carrier):
    fake.delay = 0.15
    journal = Journal(fake)
    caller = threading.get_ident()
    messages = [sms(i, to=f"+86138001380{i:02d}") for i in range(1, 21)]

    results = make_carrier(concurrency="8").submit(messages, journal=journal)

    assert sorted(r.message_id for r in results) == list(range(1, 21))
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    assert len({r.carrier_message_ids[0] for r in results}) == 20
    assert 3 <= fake.max_active <= 8          # several at once, never more than the pool
    assert fake.connections <= 8              # connections reused across the batch
    assert sorted(journal.ids) == list(range(1, 21))
    assert journal.thread_ids == {caller}     # journal runs on the caller's thread
    sent_to = {dict(r.form())["To"] for r in fake.requests}
    assert sent_to == {m.to for m in messages}


def test_in_a_batch_each_message_is_journaled_before_its_request(fake, make_carrier):
    fake.delay = 0.05
    journaled_at = {}

    def journal(ids):
        for i in ids:
            journaled_at[f"+86138001380{i:02d}"] = len([r for r in fake.requests])

    messages = [sms(i, to=f"+86138001380{i:02d}") for i in range(1, 11)]
    make_carrier(concurrency="3").submit(messages, journal=journal)
    order = [dict(r.form())["To"] for r in fake.requests]
    for position, to in enumerate(order):
        assert journaled_at[to] <= position  # journaled before the server saw it


def test_concurrency_bounds_the_whole_adapter_not_each_batch(fake, make_carrier):
    """Several threads (e.g. a threaded worker) submitting at once share the adapter's `concurrency`."""
    fake.delay = 0.1
    carrier = make_carrier(concurrency="2")
    threads = [threading.Thread(target=carrier.submit, args=([sms(i)],), kwargs={"journal": Journal()})
               for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.requests) == 6 and fake.max_active == 2


def test_a_failing_journal_sends_nothing_and_its_error_reaches_the_caller(fake, make_carrier):
    carrier = make_carrier()
    with pytest.raises(RuntimeError, match="database is down"):
        carrier.submit([sms(1), sms(2, to="+8613800138002")], journal=Journal(fail=True))
    with pytest.raises(RuntimeError, match="database is down"):
        carrier.submit([sms(3)], journal=Journal(fail=True))
    assert fake.requests == []
    [after] = carrier.submit([sms(4)], journal=Journal())   # the pool is still whole
    assert after.outcome is Outcome.ACCEPTED


def test_a_batch_left_midway_sends_only_what_was_journaled(fake, make_carrier):
    """E.g. Celery's soft time limit raised inside the journal: what it had journaled may go, nothing else."""
    fake.delay = 0.1
    journaled = []

    def journal(ids):
        if journaled:
            raise TimeoutError("soft time limit")
        journaled.extend(ids)

    carrier = make_carrier(concurrency="2")
    with pytest.raises(TimeoutError):
        carrier.submit([sms(i, to=f"+86138001380{i:02d}") for i in range(1, 7)], journal=journal)
    carrier.close()   # waits for the requests on the wire
    assert 1 <= len(journaled) <= 2
    assert sorted(dict(r.form())["To"] for r in fake.requests) == sorted(f"+86138001380{i:02d}" for i in journaled)


def test_a_closed_carrier_sends_nothing(fake, make_carrier):
    carrier = make_carrier()
    carrier.close()
    assert [r.outcome for r in carrier.submit([sms(1), sms(2)], journal=Journal())] == [Outcome.FAILED] * 2
    assert fake.requests == []


# --- status callbacks ------------------------------------------------------------------------------

def post_callback(carrier, url, fields, signature, **headers):
    path = url.removeprefix(PUBLIC)
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    # as Twilio posts: application/x-www-form-urlencoded
    request = RequestFactory().post(path, data=urlencode(fields), content_type="application/x-www-form-urlencoded", **headers)
    return carrier.handle_callback(request)


def sent_sid(carrier, message):
    [result] = carrier.submit([message], journal=Journal())
    return result.carrier_message_ids[0]


def test_a_signed_delivered_callback_yields_a_receipt(fake, make_carrier):
    carrier = make_carrier()
    sid = sent_sid(carrier, sms())
    response, receipts = post_callback(carrier, *fake.status_callback(sid, "delivered"))
    assert response.status_code == 200 and b"<Response" in response.content
    [receipt] = receipts
    assert (receipt.carrier_message_id, receipt.delivered, receipt.error_code) == (sid, True, "")
    assert "MessageStatus=delivered" in receipt.raw and receipt.done_at is not None


@pytest.mark.parametrize("status, code", [("undelivered", "30003"), ("failed", "30008")])
def test_a_signed_failed_callback_yields_a_failed_receipt_with_the_code(fake, make_carrier, status, code):
    carrier = make_carrier()
    sid = sent_sid(carrier, sms())
    _, [receipt] = post_callback(carrier, *fake.status_callback(sid, status, error_code=code))
    assert (receipt.carrier_message_id, receipt.delivered, receipt.error_code) == (sid, False, code)


@pytest.mark.parametrize("status", ["queued", "sending", "sent", "accepted"])
def test_a_status_on_the_way_yields_no_receipt(fake, make_carrier, status):
    carrier = make_carrier()
    sid = sent_sid(carrier, sms())
    response, receipts = post_callback(carrier, *fake.status_callback(sid, status))
    assert response.status_code == 200 and receipts == []


def test_a_forged_or_missing_signature_is_403_and_no_receipt(fake, make_carrier):
    carrier = make_carrier()
    sid = sent_sid(carrier, sms())
    url, fields, _ = fake.status_callback(sid, "delivered")
    forged = twilio_signature("f" * 32, url, fields)
    with pytest.raises(PermissionDenied):
        post_callback(carrier, url, fields, forged)
    with pytest.raises(PermissionDenied):
        post_callback(carrier, url, fields, None)
    # a genuine signature over other fields does not carry over
    _, _, genuine = fake.status_callback(sid, "undelivered", error_code="30003")
    with pytest.raises(PermissionDenied):
        post_callback(carrier, url, fields, genuine)


def test_the_signature_is_checked_against_the_public_url_not_the_one_reached(fake, make_carrier):
    """Behind a proxy the request reaches http://testserver/...; Twilio signed the public URL it was given."""
    carrier = make_carrier()
    sid = sent_sid(carrier, sms())
    reached = "http://testserver/carriers/twilio/receipts"
    _, fields, signed_for_reached = fake.status_callback(sid, "delivered", url=reached)
    with pytest.raises(PermissionDenied):
        post_callback(carrier, CALLBACK, fields, signed_for_reached)


def test_a_call_that_was_answered_is_delivered_and_a_busy_one_failed(fake, make_carrier):
    carrier = make_carrier()
    answered, busy = sent_sid(carrier, voice(1)), sent_sid(carrier, voice(2))
    _, [done] = post_callback(carrier, *fake.status_callback(answered, "completed"))
    _, [not_done] = post_callback(carrier, *fake.status_callback(busy, "busy"))
    _, ringing = post_callback(carrier, *fake.status_callback(busy, "ringing"))
    assert (done.carrier_message_id, done.delivered) == (answered, True) and done.done_at is not None
    assert (not_done.carrier_message_id, not_done.delivered, not_done.error_code) == (busy, False, "busy")
    assert ringing == []


def test_a_callback_signed_with_a_shared_key(fake, make_carrier):
    shared = "sk_" + "7" * 29
    carrier = make_carrier(shared_key_secret=shared)
    sid = sent_sid(carrier, sms())
    url, fields, _ = fake.status_callback(sid, "delivered")
    signature = twilio_signature(shared, url, fields, digest=hashlib.sha256)
    settings_header = "key=webhooks_sharedkey_01,algorithm=HMAC_SHA256"
    _, [receipt] = post_callback(carrier, url, fields, signature, HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS=settings_header)
    assert receipt.delivered
    unconfigured = make_carrier()
    with pytest.raises(PermissionDenied):
        post_callback(unconfigured, url, fields, signature, HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS=settings_header)


# --- config and state ------------------------------------------------------------------------------

def config(username=ACCOUNT_SID, secret=AUTH_TOKEN, **params):
    return CarrierConfig("twilio", "twilio", username, secret, params)


@pytest.mark.parametrize("cfg, field", [
    (config(), "from"),                                          # neither from nor messaging_service_sid
    (config(**{"from": " 15550000000"}), "from"),                # a + decoded to a space
    (config(**{"from": "+1555-000"}), "from"),
    (config(**{"from": OWNED_NUMBER, "messaging_service_sid": "MG1"}), "messaging_service_sid"),
    (config(username="SK" + "0" * 32, **{"from": OWNED_NUMBER}), "username"),
    (config(secret="", **{"from": OWNED_NUMBER}), "secret"),
    (config(**{"from": OWNED_NUMBER, "api_base": "api.twilio.com"}), "api_base"),
    (config(**{"from": OWNED_NUMBER, "api_base": "https://api.twilio.com?x=1"}), "api_base"),
    (config(**{"from": OWNED_NUMBER, "read_timeout": "soon"}), "read_timeout"),
    (config(**{"from": OWNED_NUMBER, "connect_timeout": "0"}), "connect_timeout"),
    (config(**{"from": OWNED_NUMBER, "concurrency": "0"}), "concurrency"),
    (config(**{"from": OWNED_NUMBER, "voice_language": "zh CN"}), "voice_language"),
    (config(**{"from": OWNED_NUMBER, "form": "+1"}), "form"),   # a typo is named, not ignored
])
def test_every_bad_field_is_named(cfg, field):
    with pytest.raises(CarrierConfigError) as raised:
        TwilioCarrier.check_config(cfg)
    assert str(raised.value).startswith(f"{field}: ")
    assert AUTH_TOKEN not in str(raised.value)


def test_good_configs_pass():
    TwilioCarrier.check_config(config(**{"from": OWNED_NUMBER}))
    TwilioCarrier.check_config(config(**{"from": "MyBrand", "name": "twilio-eu"}))
    TwilioCarrier.check_config(config(messaging_service_sid="MG" + "0" * 32))
    assert TwilioCarrier.supports_voice and TwilioCarrier.kind == "twilio"
    assert set(TwilioCarrier.PARAMS) >= {"from", "messaging_service_sid", "api_base", "connect_timeout", "read_timeout", "concurrency"}


def test_live_state_and_logs_never_show_the_auth_token(fake, make_carrier, caplog):
    carrier = make_carrier()
    with caplog.at_level(logging.DEBUG):
        carrier.submit([sms(1), sms(2, to="+15005550001")], journal=Journal())
        fake.auth_token = "0" * 32
        carrier.submit([sms(3)], journal=Journal())
    state = carrier.live_state()
    assert state["accepted"] == 1 and state["failed"] == 2 and state["in_flight"] == 0
    assert state["last_error"].startswith("20003") and state["callback_url"] == CALLBACK
    assert AUTH_TOKEN not in repr(state) and AUTH_TOKEN not in caplog.text
