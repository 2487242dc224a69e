"""Signatures and templates over REST, with the master key (`templates_review/views.py`): the checks
of a submission with their reasons, the caps, the balance, the revision flow as the developer sees it."""
from urllib.parse import quote

import pytest

from smsplatform.errors import Errors
from templates_review.models import Review, Signature, Template
from tests.factories import set_balances
from tests.support import assert_error, unique_phone

from .support import VERIFY_BODY, approve, fund, pending_review, reject

pytestmark = pytest.mark.django_db

SIGNATURES = "/1.1/sms/signatures"
TEMPLATES = "/1.1/sms/templates"


def template_body(**fields):
    return {"name": "activity", "category": "verification", "body": VERIFY_BODY, **fields}


@pytest.mark.parametrize("method, path", [("get", SIGNATURES), ("post", SIGNATURES), ("get", TEMPLATES),
                                          ("post", TEMPLATES), ("get", TEMPLATES + "/x"), ("delete", TEMPLATES + "/x"),
                                          ("get", SIGNATURES + "/x"), ("delete", SIGNATURES + "/x")])
def test_the_master_key_only(lc, method, path):
    response = lc.get(path) if method == "get" else getattr(lc, method)(path, {})
    assert_error(response, Errors.OPERATION_FORBIDDEN)


def test_signatures_list_create_show_and_delete(lc_master, app):
    [own] = lc_master.get(SIGNATURES).json()["results"]
    assert {key: own[key] for key in ("signature", "status", "reason", "default")} == {
        "signature": app.name, "status": "approved", "reason": "", "default": True}
    response = lc_master.post(SIGNATURES, {"signature": "天东商城"})
    assert response.status_code == 201
    assert {key: response.json()[key] for key in ("signature", "status", "default")} == {
        "signature": "天东商城", "status": "pending", "default": False}
    assert lc_master.post(SIGNATURES, {"signature": "天东商城"}).status_code == 200  # already there: as it is
    assert Review.objects.pending().filter(subject="天东商城").count() == 1
    shown = lc_master.get(f"{SIGNATURES}/{quote('天东商城')}")
    assert (shown.status_code, shown.json()["status"]) == (200, "pending")
    assert lc_master.delete(f"{SIGNATURES}/{quote('天东商城')}").json() == {}
    assert not Signature.objects.filter(text="天东商城").exists()
    assert Review.objects.get(subject="天东商城").status == "withdrawn"
    assert_error(lc_master.get(f"{SIGNATURES}/{quote('天东商城')}"), Errors.INVALID_SIGNATURE,
                 "Invalid SMS signature: the app has no signature 天东商城.")
    assert_error(lc_master.delete(f"{SIGNATURES}/{app.name}"), Errors.BAD_REQUEST,
                 "The default signature cannot be deleted: make another signature the default first.")


@pytest.mark.parametrize("text, said", [
    ("天", "A signature has 2 to 20 characters; this one has 1."),
    ("My Shop", "A signature has no spaces. A signature may not be letters only."),
    ("【天东】", "Give the signature without 【】."),
    ("12306", "A signature may not be digits only."),
    ("天东#商城", "A signature holds Chinese characters, letters and digits only, no symbols: #"),
])
def test_an_invalid_signature_is_600_with_its_reasons(lc_master, text, said):
    assert_error(lc_master.post(SIGNATURES, {"signature": text}), Errors.INVALID_SIGNATURE,
                 f"Invalid SMS signature: {said}")
    assert_error(lc_master.post(SIGNATURES, {}), Errors.INVALID_SIGNATURE,
                 "Invalid SMS signature: A signature is required.")
    assert_error(lc_master.post(SIGNATURES, {"signature": "天东商城", "default": "yes"}), Errors.BAD_REQUEST,
                 "default must be true or false.")


def test_a_rejected_signature_shows_why_and_can_be_submitted_again(lc_master, app):
    lc_master.post(SIGNATURES, {"signature": "天东商城", "default": True})
    reject(pending_review(subject="天东商城"), reason="Not your company.")
    shown = lc_master.get(f"{SIGNATURES}/{quote('天东商城')}").json()
    assert (shown["status"], shown["reason"], shown["default"]) == ("rejected", "Not your company.", False)
    again = lc_master.post(SIGNATURES, {"signature": "天东商城"})
    assert (again.status_code, again.json()["status"], again.json()["reason"]) == (200, "pending", "")
    approve(pending_review(subject="天东商城"))
    shown = lc_master.get(f"{SIGNATURES}/{quote('天东商城')}").json()
    assert (shown["status"], shown["default"]) == ("approved", True)  # asked as the default, before


def test_a_template_is_submitted_pending_and_shown_as_the_issue_says(lc_master, app):
    fund(app)
    response = lc_master.post(TEMPLATES, template_body())
    assert response.status_code == 201
    shown = response.json()
    assert {key: shown[key] for key in ("name", "category", "body", "signature", "status", "reason")} == {
        "name": "activity", "category": "verification", "body": VERIFY_BODY, "signature": "", "status": "pending",
        "reason": ""}
    assert set(shown) == {"name", "category", "body", "signature", "status", "reason", "createdAt", "updatedAt"}
    assert lc_master.get(f"{TEMPLATES}/activity").json() == shown
    assert lc_master.get(TEMPLATES).json() == {"results": [shown]}


def test_the_revision_flow(lc_master, lc, app, outbox):
    fund(app)
    lc_master.post(TEMPLATES, template_body(body="旧的验证码{{code}}"))
    approve(pending_review(subject="activity"))
    approved = lc_master.get(f"{TEMPLATES}/activity").json()
    assert (approved["status"], approved["body"], "revision" in approved) == ("approved", "旧的验证码{{code}}", False)

    # A revision waits beside the approved body, which keeps serving.
    revised = lc_master.post(TEMPLATES, template_body(body="新的验证码{{code}}"))
    assert revised.status_code == 200
    shown = revised.json()
    assert (shown["status"], shown["body"]) == ("approved", "旧的验证码{{code}}")
    assert {key: shown["revision"][key] for key in ("body", "status", "reason")} == {
        "body": "新的验证码{{code}}", "status": "pending", "reason": ""}
    phone = unique_phone()
    lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone, "template": "activity"})
    assert "旧的验证码" in outbox.messages(phone)[0]["text"]

    # Rejected: it stays beside, with the reason, and the approved body still serves.
    reject(pending_review(subject="activity"), reason="Say which service.")
    shown = lc_master.get(f"{TEMPLATES}/activity").json()
    assert (shown["body"], shown["revision"]["status"], shown["revision"]["reason"]) == (
        "旧的验证码{{code}}", "rejected", "Say which service.")

    # Submitted again and approved: the revision replaces the approved body.
    lc_master.post(TEMPLATES, template_body(body="天东商城的验证码{{code}}"))
    approve(pending_review(subject="activity"))
    shown = lc_master.get(f"{TEMPLATES}/activity").json()
    assert (shown["status"], shown["body"], "revision" in shown) == ("approved", "天东商城的验证码{{code}}", False)
    assert Template.objects.get(app=app, name="activity").version == 2
    phone = unique_phone()
    lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": phone, "template": "activity"})
    assert "天东商城的验证码" in outbox.messages(phone)[0]["text"]


def test_a_newer_submission_replaces_a_pending_one(lc_master, app):
    fund(app)
    lc_master.post(TEMPLATES, template_body(body="一{{code}}"))
    lc_master.post(TEMPLATES, template_body(body="二{{code}}"))
    assert list(Review.objects.filter(subject="activity").values_list("body", "status")) == [
        ("一{{code}}", "withdrawn"), ("二{{code}}", "pending")]
    assert lc_master.get(f"{TEMPLATES}/activity").json()["body"] == "二{{code}}"


@pytest.mark.parametrize("fields, said", [
    ({"body": "{{#if vip}}尊贵的{{/if}}验证码{{code}}"},
     "Only text and plain variables are allowed: the body holds a block ({{#...}})."),
    ({"body": "验证码{{code"}, "It does not compile: Handlebars syntax error near '{{code'."),
    ({"body": "验证码{{user.name}}{{code}}"},
     "Only plain variables such as {{date}} are allowed: no helpers, arguments or paths."),
    ({"body": "您好，欢迎光临"}, "Put {{code}} where the code goes."),
    ({"category": "notification", "body": "验证码{{code}}"},
     "Notifications carry no code: use a verification template."),
    ({"body": "验证码{{code}}，下载 http://app.example/x"},
     "SMS templates may not hold links, download links included."),
    ({"body": "验证码{{code}}，详见 t.cn/A6x"}, "SMS templates may not hold links, download links included."),
    ({"body": "验证码{{code}}，领取红包"}, "Marketing words: 红包."),
    ({"body": "验证码{{code}}，Big SALE today"}, "Marketing words: sale."),
    ({"body": "【天东】验证码{{code}}"}, "Put the signature in the template's signature, not in its body."),
    ({"body": "验证码{{code}}\u202e"}, "The body holds control or invisible characters."),
    ({"body": "验证码{{code}}，发到{{mobilePhoneNumber}}"},
     "mobilePhoneNumber: requestSmsCode's own parameter(s), never a variable."),
    ({"body": ""}, "The body is empty."),
])
def test_each_check_of_a_template_has_its_reason(lc_master, app, fields, said):
    fund(app)
    assert_error(lc_master.post(TEMPLATES, template_body(**fields)), Errors.BAD_REQUEST,
                 f"The template is refused: {said}")
    assert not Template.objects.exists()


def test_several_failures_are_all_told(lc_master, app):
    fund(app)
    response = lc_master.post(TEMPLATES, template_body(body="优惠 www.shop.example"))
    assert_error(response, Errors.BAD_REQUEST, "The template is refused: Put {{code}} where the code goes. "
                 "SMS templates may not hold links, download links included. Marketing words: 优惠.")


@pytest.mark.parametrize("fields, said", [
    ({"name": ""}, "A template's name is 1 to 64 letters, digits, Chinese characters, _ or -."),
    ({"name": "a b"}, "A template's name is 1 to 64 letters, digits, Chinese characters, _ or -."),
    ({"name": "x" * 65}, "A template's name is 1 to 64 letters, digits, Chinese characters, _ or -."),
    ({"category": "marketing"}, "category must be 'verification' or 'notification'."),
    ({"category": None}, "category must be 'verification' or 'notification'."),
])
def test_name_and_category(lc_master, app, fields, said):
    fund(app)
    assert_error(lc_master.post(TEMPLATES, template_body(**fields)), Errors.BAD_REQUEST, said)


def test_the_signature_must_be_the_apps(lc_master, app):
    fund(app)
    assert_error(lc_master.post(TEMPLATES, template_body(signature="别家签名")), Errors.INVALID_SIGNATURE,
                 "Invalid SMS signature: the app has no signature 别家签名.")
    lc_master.post(SIGNATURES, {"signature": "天东商城"})
    response = lc_master.post(TEMPLATES, template_body(signature="天东商城"))
    assert (response.status_code, response.json()["signature"]) == (201, "天东商城")
    assert_error(lc_master.delete(f"{SIGNATURES}/{quote('天东商城')}"), Errors.BAD_REQUEST,
                 "The signature 天东商城 signs the template(s) activity: change them first.")


def test_creating_or_changing_needs_200_of_non_gift_balance(lc_master, app):
    set_balances(app.account, balance="199.99", gift="10000")
    assert_error(lc_master.post(TEMPLATES, template_body()), Errors.INSUFFICIENT_BALANCE,
                 "Creating or changing a template needs at least 200 of non-gift balance.")
    fund(app, "200")
    assert lc_master.post(TEMPLATES, template_body()).status_code == 201
    fund(app, "0")
    assert_error(lc_master.post(TEMPLATES, template_body(body="改{{code}}")), Errors.INSUFFICIENT_BALANCE,
                 "Creating or changing a template needs at least 200 of non-gift balance.")


def test_at_most_ten_templates_per_app(lc_master, app):
    fund(app)
    for n in range(10):
        assert lc_master.post(TEMPLATES, template_body(name=f"t{n}")).status_code == 201
    assert_error(lc_master.post(TEMPLATES, template_body(name="t10")), Errors.BAD_REQUEST,
                 "An app has at most 10 templates.")
    assert lc_master.post(TEMPLATES, template_body(name="t3", body="改{{code}}")).status_code == 200  # a revision
    assert lc_master.delete(f"{TEMPLATES}/t0").json() == {}
    assert lc_master.post(TEMPLATES, template_body(name="t10")).status_code == 201


def test_deleting_a_template(lc_master, lc, app):
    fund(app)
    lc_master.post(TEMPLATES, template_body())
    assert lc_master.delete(f"{TEMPLATES}/activity").json() == {}
    assert_error(lc_master.get(f"{TEMPLATES}/activity"), Errors.TEMPLATE_NOT_FOUND)
    assert_error(lc_master.delete(f"{TEMPLATES}/activity"), Errors.TEMPLATE_NOT_FOUND)
    assert Review.objects.get(subject="activity").status == "withdrawn"
    assert_error(lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone(), "template": "activity"}),
                 Errors.TEMPLATE_NOT_FOUND)


def test_a_chinese_name_works_in_the_path(lc_master, app):
    fund(app)
    assert lc_master.post(TEMPLATES, template_body(name="活动通知", category="notification",
                                                   body="活动于{{date}}开始")).status_code == 201
    assert lc_master.get(f"{TEMPLATES}/{quote('活动通知')}").json()["name"] == "活动通知"


def test_lists_show_one_status_when_asked(lc_master, app):
    fund(app)
    lc_master.post(SIGNATURES, {"signature": "天东商城"})
    lc_master.post(TEMPLATES, template_body(name="a"))
    lc_master.post(TEMPLATES, template_body(name="b"))
    approve(pending_review(subject="b"))
    assert [s["signature"] for s in lc_master.get(SIGNATURES + "?status=pending").json()["results"]] == ["天东商城"]
    assert [s["signature"] for s in lc_master.get(SIGNATURES + "?status=approved").json()["results"]] == [app.name]
    assert [t["name"] for t in lc_master.get(TEMPLATES + "?status=approved").json()["results"]] == ["b"]
    assert [t["name"] for t in lc_master.get(TEMPLATES).json()["results"]] == ["a", "b"]
    assert_error(lc_master.get(TEMPLATES + "?status=nope"), Errors.BAD_REQUEST,
                 "status must be 'pending', 'approved' or 'rejected'.")
