"""Signatures: the contract's rules, an app's default (its name when an operator makes it), review
and the default's moves (`templates_review/checks.py`, `services.py`, the 0002 data migration)."""
import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import App
from accounts.services.app_settings import create_app
from sms.models import Message
from smsplatform.errors import Errors, LeanCloudError
from templates_review import checks, rendering, services
from templates_review.models import Review, ReviewStatus, Signature
from tests.support import assert_error, unique_phone

from .support import approve, approved_signature, operator, pending_review, reject, submitted_signature

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"


@pytest.mark.parametrize("text", ["天东商城", "天东", "TestApp1x", "ab12", "京东618", "测试Shop", "一" * 20])
def test_valid_signatures(text):
    assert checks.signature_problems(text) == []


@pytest.mark.parametrize("text, problems", [
    ("", ["A signature is required."]),
    ("天", ["A signature has 2 to 20 characters; this one has 1."]),
    ("一" * 21, ["A signature has 2 to 20 characters; this one has 21."]),
    ("天东 商城", ["A signature has no spaces."]),
    ("天东-商城!", ["A signature holds Chinese characters, letters and digits only, no symbols: !-"]),
    ("Shop", ["A signature may not be letters only."]),
    ("12306", ["A signature may not be digits only."]),
    ("【天东商城】", ["Give the signature without 【】."]),
    ("【天】", ["Give the signature without 【】.", "A signature has 2 to 20 characters; this one has 1."]),
    ("My Shop", ["A signature has no spaces.", "A signature may not be letters only."]),
])
def test_each_broken_rule_has_its_reason(text, problems):
    assert checks.signature_problems(text) == problems


@pytest.mark.parametrize("name, signature", [
    ("天东商城", "天东商城"),
    ("天东 商城 (北京)!", "天东商城北京"),
    ("My Shop 2", "MyShop2"),
    ("深" * 100, "深" * 20),
    ("Demo", None),  # letters only
    ("X", None),
    ("2048", None),
    ("!!!", None),
])
def test_the_signature_an_apps_name_gives(name, signature):
    assert checks.signature_from_name(name) == signature


def test_an_app_made_with_create_app_signs_with_its_name(client_of, outbox):
    out = StringIO()
    call_command("create_app", "--name", "天东商城 (北京)", stdout=out)
    app = App.objects.get(app_id=json.loads(out.getvalue())["appId"])
    signature = Signature.objects.get(app=app)
    assert (signature.text, signature.status, signature.is_default) == ("天东商城北京", ReviewStatus.APPROVED, True)
    decided = Review.objects.get(signature=signature)
    assert (decided.status, decided.submitted_via, decided.decided_at is not None) == ("approved", "new_app", True)
    phone = unique_phone()
    assert client_of(app).post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith("【天东商城北京】您正在使用天东商城 (北京)服务")


def test_make_runs_demo_app_signs_with_its_name(client_of, outbox, settings):
    settings.DEBUG = True  # as `make run` runs it
    call_command("bootstrap_demo", "--admin-password", "x", stdout=StringIO())
    app = App.objects.get(account__name="demo")
    phone = unique_phone()
    assert client_of(app).post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith("【Demo商城】")


def test_a_long_name_signs_with_its_first_twenty_characters(client_of, outbox):
    """The signature an app signs with is always a valid one of at most 20 characters (a send record
    keeps 32), whatever the name (up to 100)."""
    app = create_app(name="深圳市天东商城电子商务有限公司华南区分公司第一营业部官方旗舰店" * 2)
    phone = unique_phone()
    assert client_of(app).post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert Message.objects.get(phone=phone).signature == "深圳市天东商城电子商务有限公司华南区分公"


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_an_app_whose_name_is_no_signature_has_no_default_and_answers_600(client_of, outbox, channel):
    app = create_app(name="Demo")
    assert not Signature.objects.filter(app=app).exists()
    response = client_of(app).post(URL, {"mobilePhoneNumber": unique_phone(), "smsType": channel})
    assert_error(response, Errors.INVALID_SIGNATURE, rendering.NO_DEFAULT_SIGNATURE)
    assert outbox.messages() == [] and not Message.objects.exists()
    # Its first approved signature becomes its default.
    services.submit_signature(app=app, text="Demo2026", operator=operator())
    phone = unique_phone()
    assert client_of(app).post(URL, {"mobilePhoneNumber": phone}).status_code == 200
    assert outbox.messages(phone)[0]["text"].startswith("【Demo2026】") or channel == "voice"


def test_a_submitted_signature_waits_for_review_and_a_rejection_says_why(app):
    signature = submitted_signature(app, "天东商城")
    assert (signature.status, signature.is_default) == (ReviewStatus.PENDING, False)
    reject(pending_review(signature=signature), reason="Not your company's name.")
    signature.refresh_from_db()
    assert (signature.status, signature.reason) == (ReviewStatus.REJECTED, "Not your company's name.")
    # Submitted again: pending again, a new review.
    again, created = services.submit_signature(app=app, text="天东商城")
    assert (again.pk, created, again.status, again.reason) == (signature.pk, False, ReviewStatus.PENDING, "")
    assert Review.objects.filter(signature=signature).count() == 2
    approve(pending_review(signature=signature))
    signature.refresh_from_db()
    assert signature.status == ReviewStatus.APPROVED and not signature.is_default  # the app has its name's


def test_a_signature_asked_as_the_default_becomes_it_once_approved(lc, app, outbox):
    signature = submitted_signature(app, "天东商城", make_default=True)
    phone = unique_phone()
    lc.post(URL, {"mobilePhoneNumber": phone})
    assert outbox.messages(phone)[0]["text"].startswith(f"【{app.name}】")  # the old default keeps signing
    approve(pending_review(signature=signature))
    assert Signature.objects.get(app=app, is_default=True).text == "天东商城"
    phone = unique_phone()
    lc.post(URL, {"mobilePhoneNumber": phone})
    assert outbox.messages(phone)[0]["text"].startswith("【天东商城】")
    # An approved one moves the default at once.
    services.submit_signature(app=app, text=app.name, make_default=True)
    assert Signature.objects.get(app=app, is_default=True).text == app.name


def test_an_invalid_signature_is_600_with_its_reasons(app):
    with pytest.raises(LeanCloudError) as refused:
        services.submit_signature(app=app, text="My Shop")
    assert (refused.value.code, refused.value.message) == (
        600, "Invalid SMS signature: A signature has no spaces. A signature may not be letters only.")


def test_the_default_and_signatures_in_use_are_not_deleted(app):
    from .support import approved_template

    with pytest.raises(LeanCloudError, match="default signature cannot be deleted"):
        services.delete_signature(app=app, text=app.name)
    approved_signature(app, "天东商城")
    approved_template(app, signature="天东商城")
    with pytest.raises(LeanCloudError, match="signs the template"):
        services.delete_signature(app=app, text="天东商城")
    assert Signature.objects.filter(app=app).count() == 2


def test_an_app_has_at_most_twenty_signatures(app):
    for n in range(19):
        services.submit_signature(app=app, text=f"签名{n}")
    with pytest.raises(LeanCloudError, match="at most 20 signatures"):
        services.submit_signature(app=app, text="签名99")


def test_existing_apps_keep_their_signature_through_the_migration(transactional_db):
    """The 0002 data migration folds the old `App.sms_signature` (else the name) into Signature rows."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("accounts", "0004_app_limit_notification_per_day"), ("templates_review", "0001_signatures_templates_reviews")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        OldApp, Account = old.get_model("accounts", "App"), old.get_model("accounts", "Account")
        account = Account.objects.create(name="old")
        own = OldApp.objects.create(account=account, name="Shop", app_id="oldApp00001", sms_signature="天东商城")
        named = OldApp.objects.create(account=account, name="老店 2", app_id="oldApp00002")
        none = OldApp.objects.create(account=account, name="Shop", app_id="oldApp00003", sms_signature="x y")
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        defaults = dict(Signature.objects.filter(is_default=True, status="approved").values_list("app_id", "text"))
        assert defaults == {own.pk: "天东商城", named.pk: "老店2"}
        assert not Signature.objects.filter(app_id=none.pk).exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
