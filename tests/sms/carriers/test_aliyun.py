"""The Aliyun adapter against a local server that answers as Alibaba Cloud's SendSms does."""
import json
import logging
import threading
from datetime import datetime, timezone

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from sms.carriers.aliyun import AliyunCarrier, aliyun_number
from sms.carriers.base import CarrierConfig, CarrierConfigError, Outcome, OutboundMessage

from .fake_aliyun import KEY_ID, KEY_SECRET, SIGN, TEMPLATE, FakeAliyun
from .fake_http import Answer, Unaccepting, closed_port

TOKEN = "rcpt_4f9c2d7e1a8b3c6d"
PATH = "/carriers/aliyun/receipts"


@pytest.fixture
def fake():
    server = FakeAliyun().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def public_base(settings):
    settings.SMS_CALLBACK_BASE_URL = "https://sms.example.com"


@pytest.fixture
def make_carrier(fake):
    made = []

    def make(secret=KEY_SECRET, key_id=KEY_ID, **params):
        params = {"endpoint": f"127.0.0.1:{fake.port}", "protocol": "http", "template": TEMPLATE,
                  "callback_token": TOKEN, "read_timeout": "2", "connect_timeout": "1", **params}
        params = {k: v for k, v in params.items() if v is not None}
        carrier = AliyunCarrier(CarrierConfig("aliyun", "aliyun", key_id, secret, params), receipts=lambda r: None)
        made.append(carrier)
        return carrier

    yield make
    for carrier in made:
        carrier.close()


class Journal:
    def __init__(self, fake=None):
        self.fake, self.calls, self.thread_ids = fake, [], set()

    def __call__(self, ids):
        self.thread_ids.add(threading.get_ident())
        self.calls.append((list(ids), len(self.fake.requests) if self.fake else None))

    @property
    def ids(self):
        return [i for ids, _ in self.calls for i in ids]


def sms(id=1, to="+8613800138000", code="123456", signature=SIGN, text=None, channel="sms"):
    text = text if text is not None else f"【{signature}】您的验证码为：{code}，5分钟内有效。"
    return OutboundMessage(id=id, to=to, text=text, channel=channel, app_id="app", code=code, signature=signature)


# --- SendSms ---------------------------------------------------------------------------------------

def test_send_sms_carries_the_number_without_86_the_sign_the_template_and_the_code(fake, make_carrier):
    journal = Journal(fake)
    [result] = make_carrier().submit([sms(42)], journal=journal)

    assert result.outcome is Outcome.ACCEPTED and result.message_id == 42
    [request] = fake.requests
    assert request.method == "POST" and request.headers["x-acs-action"] == "SendSms"
    query = request.query_dict
    assert query["PhoneNumbers"] == "13800138000"
    assert query["SignName"] == SIGN and query["TemplateCode"] == TEMPLATE
    assert json.loads(query["TemplateParam"]) == {"code": "123456"}
    assert query["OutId"] == "42"
    [sent] = fake.sent                       # the fake verified the V3 signature and accepted it
    assert result.carrier_message_ids == (sent["biz_id"],)
    assert journal.calls == [([42], 0)]


def test_the_sign_param_overrides_the_message_signature(fake, make_carrier):
    fake.signs.add("平台签名")
    [result] = make_carrier(sign="平台签名").submit([sms(signature="应用签名")], journal=Journal())
    assert result.outcome is Outcome.ACCEPTED and fake.sent[0]["sign"] == "平台签名"


def test_an_international_number_goes_with_its_country_code_and_no_plus(fake, make_carrier):
    make_carrier().submit([sms(to="+85291234567")], journal=Journal())
    assert fake.requests[0].query_dict["PhoneNumbers"] == "85291234567"
    assert aliyun_number("+8613800138000") == "13800138000" and aliyun_number("+14155550100") == "14155550100"


def test_template_params_map_our_values_to_the_template_variables(fake, make_carrier):
    fake.templates["SMS_100"] = ["number"]
    fake.templates["SMS_200"] = ["content"]
    make_carrier(template="SMS_100", template_params="number=code").submit([sms(1)], journal=Journal())
    [notice] = make_carrier(template="SMS_200", template_params="content=text").submit(
        [sms(2, code="", text="【阿里云短信测试】您的订单已发货")], journal=Journal())
    assert fake.sent[0]["params"] == {"number": "123456"}
    assert notice.outcome is Outcome.ACCEPTED and fake.sent[1]["params"] == {"content": "您的订单已发货"}


def test_a_notification_without_code_is_failed_before_anything_is_written(fake, make_carrier):
    journal = Journal()
    [result] = make_carrier().submit([sms(code="", text="【阿里云短信测试】您的订单已发货")], journal=journal)
    assert result.outcome is Outcome.FAILED and "${code}" in result.error
    assert fake.requests == [] and journal.calls == []


def test_voice_is_not_sent(fake, make_carrier):
    assert AliyunCarrier.supports_voice is False
    [result] = make_carrier().submit([sms(channel="voice")], journal=Journal())
    assert result.outcome is Outcome.FAILED and fake.requests == []


# --- what Aliyun refuses: FAILED with its code ---------------------------------------------------

def test_flow_control_is_failed_with_the_code(fake, make_carrier):
    fake.number_errors["13800138000"] = ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10")
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "isv.BUSINESS_LIMIT_CONTROL")
    assert "流控" in result.error and result.carrier_message_ids == ()


def test_an_illegal_number_is_failed_with_the_code(fake, make_carrier):
    [result] = make_carrier().submit([sms(to="+861380013")], journal=Journal())
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "isv.MOBILE_NUMBER_ILLEGAL")


def test_no_balance_is_failed_with_the_code(fake, make_carrier):
    fake.balance_ok = False
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "isv.AMOUNT_NOT_ENOUGH")


def test_a_wrong_secret_fails_as_the_real_service_does(fake, make_carrier):
    [wrong_secret] = make_carrier(secret="not-the-secret-not-the-secret-0").submit([sms(1)], journal=Journal())
    [unknown_key] = make_carrier(key_id="LTAI5tNoSuchKey").submit([sms(2)], journal=Journal())
    assert (wrong_secret.outcome, wrong_secret.error_code) == (Outcome.FAILED, "SignatureDoesNotMatch")
    assert (unknown_key.outcome, unknown_key.error_code) == (Outcome.FAILED, "InvalidAccessKeyId.NotFound")
    assert fake.sent == []
    assert "not-the-secret" not in wrong_secret.error and KEY_SECRET not in wrong_secret.error


def test_user_flow_control_at_the_gateway_is_failed_with_the_code(fake, make_carrier):
    fake.override = FakeAliyun._error(400, "Throttling.User", "Request was denied due to user flow control.")
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "Throttling.User")


def test_a_service_error_is_failed_but_a_gateway_timeout_is_unknown(fake, make_carrier):
    carrier = make_carrier()
    fake.override = FakeAliyun._error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
    [unavailable] = carrier.submit([sms(1)], journal=Journal())
    fake.override = Answer(504, b"<html>504 Gateway Time-out</html>", content_type="text/html")
    [gateway] = carrier.submit([sms(2)], journal=Journal())
    assert (unavailable.outcome, unavailable.error_code) == (Outcome.FAILED, "ServiceUnavailable")
    assert gateway.outcome is Outcome.UNKNOWN


# --- the network -----------------------------------------------------------------------------------

def test_connection_refused_is_failed(make_carrier):
    [result] = make_carrier(endpoint=f"127.0.0.1:{closed_port()}").submit([sms()], journal=Journal())
    assert result.outcome is Outcome.FAILED and "could not connect" in result.error


def test_a_connect_timeout_is_failed(make_carrier):
    listener = Unaccepting()
    try:
        [result] = make_carrier(endpoint=f"127.0.0.1:{listener.port}", connect_timeout="0.3").submit(
            [sms()], journal=Journal())
    finally:
        listener.close()
    assert result.outcome is Outcome.FAILED and "connect timeout" in result.error


def test_a_read_timeout_is_unknown_and_the_error_never_holds_the_code(fake, make_carrier):
    fake.mode = "hang"
    journal = Journal(fake)
    [result] = make_carrier(read_timeout="0.3").submit([sms(9, code="864209")], journal=journal)
    assert result.outcome is Outcome.UNKNOWN and "read timeout" in result.error
    assert len(fake.requests) == 1 and journal.calls == [([9], 0)]
    assert "864209" not in result.error      # the SDK's exception text holds the URL, with TemplateParam


def test_a_connection_reset_after_sending_is_unknown(fake, make_carrier):
    fake.mode = "reset"
    [result] = make_carrier().submit([sms()], journal=Journal())
    assert result.outcome is Outcome.UNKNOWN


def test_the_sdk_never_retries(fake, make_carrier):
    fake.mode = "reset"
    make_carrier().submit([sms()], journal=Journal())
    assert len(fake.requests) == 1


def test_a_batch_goes_out_concurrently_one_call_per_message(fake, make_carrier):
    fake.delay = 0.15
    journal = Journal(fake)
    messages = [sms(i, to=f"+86138001380{i:02d}", code=f"{100000 + i}") for i in range(1, 13)]
    results = make_carrier(concurrency="6").submit(messages, journal=journal)
    assert sorted(r.message_id for r in results) == list(range(1, 13))
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    assert 3 <= fake.max_active <= 6 and len(fake.requests) == 12
    assert {s["out_id"]: s["params"]["code"] for s in fake.sent} == {str(i): f"{100000 + i}" for i in range(1, 13)}
    assert journal.thread_ids == {threading.get_ident()}


# --- SmsReport -------------------------------------------------------------------------------------

def push(carrier, body, token=TOKEN):
    path = PATH + (f"?token={token}" if token is not None else "")
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return carrier.handle_callback(RequestFactory().post(path, data=data, content_type="application/json"))


def test_a_report_push_with_the_token_yields_receipts_by_biz_id(fake, make_carrier):
    carrier = make_carrier()
    results = carrier.submit([sms(1), sms(2, to="+8613800138001")], journal=Journal())
    ok_id, failed_id = (r.carrier_message_ids[0] for r in sorted(results, key=lambda r: r.message_id))
    response, receipts = push(carrier, [
        fake.report(ok_id, report_time="2026-05-01 10:00:03"),
        fake.report(failed_id, success=False, err_code="MK:0001", err_msg="运营商拒收"),
    ])
    assert response.status_code == 200
    assert json.loads(response.content.decode("utf-8")) == {"code": 0, "msg": "成功"}
    delivered, failed = receipts
    assert (delivered.carrier_message_id, delivered.delivered, delivered.error_code) == (ok_id, True, "")
    assert delivered.done_at == datetime(2026, 5, 1, 2, 0, 3, tzinfo=timezone.utc)
    assert (failed.carrier_message_id, failed.delivered, failed.error_code) == (failed_id, False, "MK:0001")
    assert json.loads(failed.raw)["err_msg"] == "运营商拒收"


@pytest.mark.parametrize("token", [None, "", "rcpt_wrong_wrong_wrong", TOKEN + "x"])
def test_a_push_with_a_wrong_or_missing_token_is_403_and_nothing(fake, make_carrier, token):
    with pytest.raises(PermissionDenied):
        push(make_carrier(), [fake.report("123^0")], token=token)


def test_without_a_configured_token_every_push_is_refused(fake, make_carrier, caplog):
    with caplog.at_level(logging.WARNING, logger="sms.carriers.aliyun"):
        carrier = make_carrier(callback_token=None)
    assert "no callback_token" in caplog.text
    with pytest.raises(PermissionDenied):
        push(carrier, [fake.report("123^0")], token="")


@pytest.mark.parametrize("body", [
    b"\xff\xfe not utf-8", "not json", json.dumps({"biz_id": "1^0", "success": True}),
    json.dumps([{"success": True}]), json.dumps([{"biz_id": "1^0", "success": "yes"}]), json.dumps(["1^0"]),
])
def test_a_malformed_push_is_400_and_nothing(fake, make_carrier, body):
    response, receipts = push(make_carrier(), body)
    assert response.status_code == 400 and receipts == []


def test_an_empty_push_is_answered_and_yields_nothing(fake, make_carrier):
    response, receipts = push(make_carrier(), [])
    assert response.status_code == 200 and receipts == []


# --- config and state ------------------------------------------------------------------------------

def config(username=KEY_ID, secret=KEY_SECRET, **params):
    return CarrierConfig("aliyun", "aliyun", username, secret, {"template": TEMPLATE, **params})


@pytest.mark.parametrize("cfg, field", [
    (CarrierConfig("aliyun", "aliyun", KEY_ID, KEY_SECRET, {}), "template"),
    (config(template="154950909"), "template"),
    (config(username=""), "username"),
    (config(secret=""), "secret"),
    (config(region="Hangzhou"), "region"),
    (config(endpoint="https://dysmsapi.aliyuncs.com"), "endpoint"),
    (config(protocol="ftp"), "protocol"),
    (config(template_params="code=phone"), "template_params"),
    (config(template_params="1code"), "template_params"),
    (config(callback_token="short"), "callback_token"),
    (config(read_timeout="-1"), "read_timeout"),
    (config(concurrency="many"), "concurrency"),
    (config(templat="SMS_1"), "templat"),
])
def test_every_bad_field_is_named(cfg, field):
    with pytest.raises(CarrierConfigError) as raised:
        AliyunCarrier.check_config(cfg)
    assert str(raised.value).startswith(f"{field}: ")
    assert KEY_SECRET not in str(raised.value)


def test_good_configs_pass():
    AliyunCarrier.check_config(config())
    AliyunCarrier.check_config(config(region="ap-southeast-1", sign="阿里云", template_params="code,product=text",
                                      callback_token=TOKEN, name="aliyun-2"))
    AliyunCarrier.check_config(config(template_params="none"))


def test_live_state_and_logs_never_show_the_secrets(fake, make_carrier, caplog):
    carrier = make_carrier()
    with caplog.at_level(logging.DEBUG):
        carrier.submit([sms(1, code="864209")], journal=Journal())
        fake.number_errors["13800138001"] = ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10")
        carrier.submit([sms(2, to="+8613800138001", code="864209")], journal=Journal())
    state = carrier.live_state()
    assert (state["accepted"], state["failed"], state["in_flight"]) == (1, 1, 0)
    assert state["last_error"].startswith("isv.BUSINESS_LIMIT_CONTROL")
    assert state["callback_url"] == "https://sms.example.com/carriers/aliyun/receipts?token=…"
    assert carrier.callback_url().endswith(f"?token={TOKEN}")
    assert "TemplateParam=…" in caplog.text   # urllib3's DEBUG line of the request, masked
    for secret in (KEY_SECRET, TOKEN, "864209"):
        assert secret not in repr(state) and secret not in caplog.text
