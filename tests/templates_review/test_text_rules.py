"""What a caller may put into a text, and the 400-character ceiling: `templates_review/text_rules.py`
(the security review's item 2; the same rules hold for template variables, see test_sending_with_templates)."""
import pytest

from sms.models import Message
from smsplatform.errors import Errors
from templates_review import text_rules
from tests.support import assert_error, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"

FORGED = [
    "【某某银行】您的账户已冻结",                 # a second signature
    "天东】【银行",
    "请访问 http://evil.example 解冻",
    "t.cn/A6abcdE",                                # a short link
    "www.evil-bank.com",
    "ｗｗｗ．ｅｖｉｌ．ｃｏｍ",                        # the same in full-width letters
    "evil。com",                                   # an ideographic full stop as the dot
    "10.0.0.1/login",
    "weixin://dl/business",
    "天东\u202e商城",                               # a right-to-left override
    "天东\u2066商城\u2069",                          # an isolate
    "天东\u200b商城",                               # a zero-width space
    "天东\n【银行】",                                # a line break
    "天东\u2028商城",                               # a line separator
    "天东\x85商城",                                 # C1 next line
    "天东\x00商城",
    "天东\ufeff商城",
]


@pytest.mark.parametrize("field", ["name", "op"])
def test_name_and_op_are_short_labels(lc, outbox, field):
    phone = unique_phone()
    long = "长" * (text_rules.MAX_LABEL_CHARACTERS + 1)
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, field: long}),
                 Errors.BAD_REQUEST, f"{field} may have at most 32 characters.")
    # The review's 349,571-character name no longer reaches the rule: its body is over the size limit.
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, field: "长" * 349_571}),
                 Errors.OBJECT_TOO_LARGE, "The request body is larger than 8192 bytes.")
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, field: "长" * 600}),
                 Errors.BAD_REQUEST, f"{field} may have at most 32 characters.")
    assert outbox.messages() == [] and not Message.objects.exists()
    # Nothing was counted: the number's interval (one SMS per 10 s) still lets the next one through.
    assert lc.post(URL, {"mobilePhoneNumber": phone, field: "长" * 32}).status_code == 200
    assert len(outbox.messages(phone)) == 1


@pytest.mark.parametrize("value", FORGED)
@pytest.mark.parametrize("field", ["name", "op"])
def test_forged_signatures_links_and_control_characters_are_refused(lc, outbox, field, value):
    response = lc.post(URL, {"mobilePhoneNumber": unique_phone(), field: value})
    if "\x00" in value:  # refused before any parameter is read (security review, item 11)
        assert_error(response, Errors.BAD_REQUEST, "Parameters may not contain NUL characters.")
    else:
        assert response.status_code == 400
        assert response.json()["code"] == 1
        assert response.json()["error"].startswith(f"{field} may not hold ")
    assert outbox.messages() == [] and not Message.objects.exists()


def test_each_refusal_says_which_rule(lc):
    phone = unique_phone()
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "name": "【银行】"}),
                 Errors.BAD_REQUEST, "name may not hold 【 or 】.")
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "op": "付款\u202e"}),
                 Errors.BAD_REQUEST, "op may not hold control or invisible characters.")
    assert_error(lc.post(URL, {"mobilePhoneNumber": phone, "op": "see bit.ly/x"}),
                 Errors.BAD_REQUEST, "op may not hold links.")


@pytest.mark.parametrize("value", ["天东商城", "Node.js 课堂", "v2.0 更新", "3.14", "A&B <Shop>", "付款 100.00 元",
                                   "e.g. 登录", "😀 商城"])
def test_ordinary_labels_pass(lc, outbox, value):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone, "name": value, "op": "登录"}).status_code == 200
    assert value in outbox.messages(phone)[0]["text"]


def test_the_ceiling_is_400_characters_signature_included():
    assert text_rules.check_ceiling("【签名】" + "字" * 396) == "【签名】" + "字" * 396
    with pytest.raises(Exception) as refused:
        text_rules.check_ceiling("【签名】" + "字" * 397)
    assert (refused.value.code, refused.value.message) == (
        1, "The SMS would be 401 characters long, signature included: at most 400.")
