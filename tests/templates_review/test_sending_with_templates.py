"""requestSmsCode with `template` and `sign`: rendering, signatures, the errors 600/604/605/606, the
ceiling and forged values, notification SMS and their calendar-day limit (`templates_review/rendering.py`,
`sms/codes.py`, `sms/sending_limits.py`)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sms.models import Message, VerificationCode
from sms.sending_limits import sending_rules
from smsplatform.errors import Errors
from templates_review import rendering
from tests.support import assert_error, outcomes, unique_phone

from .support import (
    approve, approved_signature, approved_template, pending_review, reject, submitted_signature, submitted_template,
)

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"
NOTIFY_BODY = "您预约的{{service}}将于{{date}}开始，请准时到场。"


def send(client, phone=None, **body):
    phone = phone or unique_phone()
    return phone, client.post(URL, {"mobilePhoneNumber": phone, **body})


def test_a_verification_template_renders_with_the_platforms_code_ttl_and_name(lc, app, outbox):
    approved_template(app)
    phone, response = send(lc, template="activity", date="2014 年 10 月 31 号", ttl=5,
                           code="000000", name="别人的名字")  # a caller cannot replace code, ttl or name
    assert (response.status_code, response.json()) == (200, {})
    code = outbox.last_code(phone)
    assert code != "000000"
    assert outbox.messages(phone)[0]["text"] == (
        f"【{app.name}】您的验证码是{code}，5分钟内有效，欢迎使用{app.name}。活动日期：2014 年 10 月 31 号")
    message = Message.objects.get(phone=phone)
    assert (message.template, message.category, message.signature) == ("activity", "verification", app.name)
    # The code verifies, once.
    assert lc.post(f"/1.1/verifySmsCode/{code}", {"mobilePhoneNumber": phone}).status_code == 200
    assert_error(lc.post(f"/1.1/verifySmsCode/{code}", {"mobilePhoneNumber": phone}), Errors.INVALID_SMS_CODE)


def test_values_are_not_html_escaped_and_numbers_are_text(lc, app, outbox):
    approved_template(app, body="{{code}} {{a}} {{{b}}} {{n}} {{f}}")
    phone, response = send(lc, template="activity", a="A&B <x>", b="'q'", n=7, f=1.5)
    assert response.status_code == 200
    assert outbox.messages(phone)[0]["text"].endswith(" A&B <x> 'q' 7 1.5")


def test_op_fills_its_variable_too(lc, app, outbox):
    approved_template(app, body="您正在{{op}}，验证码{{code}}")
    phone, _ = send(lc, template="activity", op="付款")
    assert "您正在付款，验证码" in outbox.messages(phone)[0]["text"]


def test_an_unknown_template_is_604_and_templates_are_per_app(lc, app, client_of, app_with, outbox):
    approved_template(app)
    assert_error(send(lc, template="nope", date="x")[1], Errors.TEMPLATE_NOT_FOUND)
    assert_error(send(client_of(app_with()), template="activity", date="x")[1], Errors.TEMPLATE_NOT_FOUND)
    assert outbox.messages() == []


def test_a_pending_or_rejected_template_is_605_and_counts_nothing(lc, app, outbox):
    template = submitted_template(app)
    phone, response = send(lc, template="activity", date="x")
    assert_error(response, Errors.TEMPLATE_NOT_VERIFIED)
    reject(pending_review(template=template))
    assert_error(send(lc, phone, template="activity", date="x")[1], Errors.TEMPLATE_NOT_VERIFIED)
    assert outbox.messages() == [] and not Message.objects.exists()
    # Nothing was counted against the number: its next SMS goes at once.
    assert send(lc, phone)[1].status_code == 200


@pytest.mark.parametrize("variables, said", [
    ({}, "date is missing"),
    ({"date": None}, "date is missing"),
    ({"date": {"day": 1}}, "date must be a string or a number"),
    ({"date": ["x"]}, "date must be a string or a number"),
    ({"date": True}, "date must be a string or a number"),
])
def test_a_variable_that_cannot_render_is_606(lc, app, outbox, variables, said):
    approved_template(app)
    assert_error(send(lc, template="activity", **variables)[1], Errors.TEMPLATE_RENDER_FAILED,
                 f"Fails to render SMS template: {said}.")
    assert outbox.messages() == [] and not Message.objects.exists()


@pytest.mark.parametrize("value, said", [
    ("【某某银行】您的账户已冻结", "date may not hold 【 or 】."),
    ("点击 https://evil.example 解冻", "date may not hold links."),
    ("t.cn/A6abcdE", "date may not hold links."),
    ("10\u202e31", "date may not hold control or invisible characters."),
    ("10\n31", "date may not hold control or invisible characters."),
    ("x" * 401, "date may have at most 400 characters."),
])
def test_forged_variables_are_refused(lc, app, outbox, value, said):
    approved_template(app)
    assert_error(send(lc, template="activity", date=value)[1], Errors.BAD_REQUEST, said)
    assert outbox.messages() == []


def test_a_link_made_of_a_body_and_a_value_is_refused(lc, app, outbox):
    approved_template(app, body="验证码{{code}}，详见 t.{{rest}}")
    assert_error(send(lc, template="activity", rest="cn/x")[1], Errors.BAD_REQUEST, rendering.LINK_IN_TEXT)
    assert outbox.messages() == []


def test_the_ceiling_holds_on_the_rendered_text_before_anything_counts(lc, app, outbox):
    approved_template(app, body="{{code}}{{a}}{{b}}")
    signed = len(f"【{app.name}】") + 6
    phone, response = send(lc, template="activity", a="长" * 200, b="长" * (400 - signed - 200 + 1))
    assert_error(response, Errors.BAD_REQUEST,
                 "The SMS would be 401 characters long, signature included: at most 400.")
    assert outbox.messages() == [] and not Message.objects.exists()
    phone, response = send(lc, phone, template="activity", a="长" * 200, b="长" * (400 - signed - 200))
    assert response.status_code == 200
    assert len(outbox.messages(phone)[0]["text"]) == 400
    assert Message.objects.get(phone=phone).billed_parts == 6


def test_sign_names_an_approved_signature_else_the_template_signs_with_its_own_or_the_default(lc, app, outbox):
    approved_signature(app, "天东商城")
    submitted_signature(app, "待审签名")
    approved_template(app, name="own", body="{{code}}", signature="天东商城")
    approved_template(app, name="plain", body="{{code}}")
    texts = {}
    for template, sign in [("plain", None), ("own", None), ("plain", "天东商城"), ("own", app.name)]:
        phone, response = send(lc, template=template, **({"sign": sign} if sign else {}))
        assert response.status_code == 200
        texts[template, sign] = outbox.messages(phone)[0]["text"]
    assert texts["plain", None].startswith(f"【{app.name}】")
    assert texts["own", None].startswith("【天东商城】")
    assert texts["plain", "天东商城"].startswith("【天东商城】")
    assert texts["own", app.name].startswith(f"【{app.name}】")
    assert_error(send(lc, template="plain", sign="没有这个")[1], Errors.INVALID_SIGNATURE, rendering.UNKNOWN_SIGNATURE)
    assert_error(send(lc, template="plain", sign="【天东商城】")[1], Errors.INVALID_SIGNATURE, rendering.UNKNOWN_SIGNATURE)
    response = send(lc, template="plain", sign="待审签名")[1]
    assert_error(response, Errors.SIGNATURE_NOT_VERIFIED)
    assert response.json() == {"code": 605, "error": "SMS sign not verified"}


def test_a_template_whose_own_signature_is_not_approved_is_605(lc, app, outbox):
    signature = submitted_signature(app, "待审签名")
    approved_template(app, body="{{code}}", signature="待审签名")
    assert_error(send(lc, template="activity")[1], Errors.SIGNATURE_NOT_VERIFIED)
    approve(pending_review(signature=signature))
    phone, response = send(lc, template="activity")
    assert response.status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith("【待审签名】")


def test_sign_without_a_template_is_ignored_as_on_leancloud(lc, app, outbox):
    phone, response = send(lc, sign="没有这个")
    assert response.status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith(f"【{app.name}】")


def test_a_voice_code_takes_no_template(lc, app, outbox):
    approved_template(app)
    assert_error(send(lc, smsType="voice", template="activity", date="x")[1], Errors.BAD_REQUEST,
                 rendering.VOICE_WITHOUT_TEMPLATE)
    assert outbox.messages() == []


def test_the_test_number_gets_nothing_from_a_template_either(client_of, app_with, outbox):
    app = app_with(test_phone_number="+8618600000001")
    approved_template(app)
    assert send(client_of(app), "+8618600000001", template="activity", date="x")[1].status_code == 200
    assert outbox.messages() == [] and not Message.objects.exists()


# --- Notification SMS --------------------------------------------------------------------------

def test_a_notification_template_sends_its_text_alone(lc, app, outbox):
    approved_template(app, name="notice", category="notification", body=NOTIFY_BODY)
    phone, response = send(lc, template="notice", service="体检", date="明天上午9点")
    assert (response.status_code, response.json()) == (200, {})
    [sent] = outbox.messages(phone)
    assert sent["text"] == f"【{app.name}】您预约的体检将于明天上午9点开始，请准时到场。"
    message = Message.objects.get(phone=phone)
    assert (message.category, message.purpose, message.template) == ("notification", "", "notice")
    assert not VerificationCode.objects.filter(phone=phone).exists()


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_fifteen_notifications_a_day_beside_the_verification_limit(lc, app, outbox):
    approved_template(app, name="notice", category="notification", body=NOTIFY_BODY)
    phone = unique_phone()
    for _ in range(15):
        assert send(lc, phone, template="notice", service="体检", date="明天")[1].status_code == 200
    assert_error(send(lc, phone, template="notice", service="体检", date="明天")[1], Errors.SMS_TOO_FREQUENT)
    # Verification codes count on their own.
    assert send(lc, phone)[1].status_code == 200
    assert len(outbox.messages(phone)) == 16


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0, timezone="America/New_York")
def test_the_notification_limit_is_a_calendar_day_in_the_apps_time_zone(limiter, app):
    zone = ZoneInfo("America/New_York")

    def at(*when):
        moment = datetime(*when, tzinfo=zone)
        rules = sending_rules(app=app, phone="+8618600000000", channel="sms", category="notification",
                              signature="s", now=moment)
        return outcomes(limiter, rules, [moment.timestamp()])[0]

    # Fifteen in the evening of March 1st (New York), the sixteenth at 23:59 refused ...
    assert [at(2026, 3, 1, 20, minute) for minute in range(15)] == ["ok"] * 15
    assert at(2026, 3, 1, 23, 59) == Errors.SMS_TOO_FREQUENT
    # ... and a minute later it is March 2nd there (already so in UTC since 05:00 UTC): fifteen more.
    assert [at(2026, 3, 2, 0, 0, second) for second in range(15)] == ["ok"] * 15
    assert at(2026, 3, 2, 0, 1) == Errors.SMS_TOO_FREQUENT
    # Midnight is the app's: at 23:30 on March 2nd in New York it is March 3rd in UTC, still the 2nd here.
    assert at(2026, 3, 2, 23, 30) == Errors.SMS_TOO_FREQUENT


def test_the_day_of_the_limit_is_the_apps(app_with):
    moment = datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on March 2nd in Shanghai
    shanghai = sending_rules(app=app_with(timezone="Asia/Shanghai"), phone="+8618600000000", channel="sms",
                             category="notification", signature="s", now=moment)
    london = sending_rules(app=app_with(timezone="Europe/London"), phone="+8618600000000", channel="sms",
                           category="notification", signature="s", now=moment)
    assert [rule.key for rule in shanghai if "notify" in rule.key] == ["sig:s:+8618600000000:notify:2026-03-02"]
    assert [rule.key for rule in london if "notify" in rule.key] == ["sig:s:+8618600000000:notify:2026-03-01"]
    assert all(rule.window_seconds > 86400 + 3600 for rule in shanghai if "notify" in rule.key)  # a 25-hour day fits


# --- The hot path ----------------------------------------------------------------------------

def _queries(client, **body):
    with CaptureQueriesContext(connection) as captured:
        assert send(client, **body)[1].status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.app(limit_interval_seconds=0, limit_per_minute=0)
def test_signatures_and_templates_cost_no_query_once_read(lc, app, outbox, settings):
    settings.APP_CACHE_SECONDS = 600  # what else a process caches (prices) does not expire mid-test
    approved_template(app, body="{{code}}")
    _queries(lc)  # the app's signatures are read once ...
    default = _queries(lc)
    assert not [sql for sql in default if "templates_review" in sql]  # ... and then kept
    first = _queries(lc, template="activity")
    assert len([sql for sql in first if "templates_review" in sql]) == 1  # one indexed lookup
    assert len(first) == len(default) + 1
    assert len(_queries(lc, template="activity")) == len(default)  # then kept as well


def test_a_change_is_seen_at_once_in_this_process(lc, app, outbox):
    template = approved_template(app, body="旧{{code}}")
    phone, _ = send(lc, template="activity")
    assert "旧" in outbox.messages(phone)[0]["text"]
    submitted_template(app, body="新{{code}}")
    approve(pending_review(template=template))
    phone, _ = send(lc, template="activity")
    assert "新" in outbox.messages(phone)[0]["text"]
