"""The review queue in the admin, as an operator uses it (`templates_review/admin.py`): what it shows,
deciding one at a time and in bulk, the record and the mail of each decision, and what an operator
may and may not do."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from accounts.models import Account
from templates_review.models import Review, ReviewStatus, Signature, Template

from .support import VERIFY_BODY, approve, fund, operator, pending_review, submitted_signature, submitted_template

pytestmark = pytest.mark.django_db

QUEUE = "/admin/templates_review/review/"


@pytest.fixture
def ops(client):
    """A client logged in as an operator."""
    client.force_login(operator())
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what a decision does once it commits (its mail) as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def owned(app, email="owner@shop.example"):
    """The app's account has an owner, to whom decisions are mailed."""
    owner = get_user_model().objects.create_user(username=f"owner-{app.pk}", email=email)
    Account.objects.filter(pk=app.account_id).update(owner=owner)
    app.account.refresh_from_db()
    return owner


def test_the_operators_group_has_exactly_what_reviewing_needs():
    granted = set(Group.objects.get(name="Operators").permissions.values_list("content_type__app_label", "codename"))
    assert granted == {("templates_review", codename) for codename in (
        "view_review", "decide_review",
        "view_signature", "add_signature", "change_signature", "delete_signature",
        "view_template", "add_template", "change_template", "delete_template",
    )}


@pytest.mark.parametrize("page", ["/admin/accounts/app/", "/admin/accounts/account/", "/admin/sms/message/",
                                  "/admin/accounts/enduser/", "/admin/auth/user/"])
def test_operators_see_nothing_else(ops, page):
    assert ops.get(page).status_code == 403


def test_staff_outside_the_group_cannot_open_the_queue(client):
    client.force_login(get_user_model().objects.create_user(username="billing", is_staff=True))
    assert client.get(QUEUE).status_code == 403


def test_the_queue_shows_what_waits_oldest_first_with_checks_and_preview(ops, app_with):
    shop, other = app_with(name="天东商城"), app_with()
    late = submitted_template(shop, name="spring_event", body="验证码{{code}}，活动{{date}}")
    early = submitted_signature(other, "天东百货")
    Review.objects.filter(signature=early).update(submitted_at=timezone.now() - timedelta(hours=2))
    approved = submitted_template(shop, name="done")
    approve(pending_review(template=approved))
    page = ops.get(QUEUE).content.decode()
    assert page.index("天东百货") < page.index("spring_event")  # oldest first
    assert "done" not in page  # decided: not in the queue
    assert "天东商城" in page and shop.account.name in page and other.account.name in page
    assert "【天东商城】验证码123456，活动[date]" in page  # the preview, on sample values
    assert "A verification template uses {{code}}" in page and "check-failed" not in page
    assert "done" in ops.get(QUEUE, {"status": "all"}).content.decode()
    assert late.name in ops.get(QUEUE, {"q": "spring_event"}).content.decode()


def test_the_checks_are_run_again_at_review_time(ops, app):
    template = submitted_template(app)
    fund(app, "0")  # the balance went since it was submitted
    page = ops.get(f"{QUEUE}{pending_review(template=template).pk}/change/").content.decode()
    assert "check-failed" in page and "at least 200 of non-gift balance" in page


def test_a_signature_another_account_signs_with_is_flagged(ops, app_with):
    app_with(name="天东商城")  # its name: approved for its own account
    review = pending_review(signature=submitted_signature(app_with(), "天东商城"))
    page = ops.get(f"{QUEUE}{review.pk}/change/").content.decode()
    assert "check-failed" in page and "Approved for other accounts" in page


def test_approve_in_bulk_records_and_mails_each_decision(ops, app_with, on_commit):
    first, second = app_with(), app_with()
    owned(first, "first@shop.example")
    owned(second, "second@shop.example")
    reviews = [pending_review(template=submitted_template(first)), pending_review(signature=submitted_signature(second, "天东百货"))]
    with on_commit():
        response = ops.post(QUEUE, {"action": "approve_selected", "_selected_action": [r.pk for r in reviews]})
    assert response.status_code == 302
    for review in reviews:
        review.refresh_from_db()
        assert (review.status, review.decided_by.username, review.decided_at is not None) == ("approved", "operator", True)
    assert Template.objects.get(app=first).serving
    assert Signature.objects.get(app=second, text="天东百货").status == ReviewStatus.APPROVED
    assert sorted(message.to[0] for message in mail.outbox) == ["first@shop.example", "second@shop.example"]
    [to_first] = [message for message in mail.outbox if message.to == ["first@shop.example"]]
    assert "template activity approved" in to_first.subject
    assert '"template": "activity"' in to_first.body


def test_reject_in_bulk_asks_for_the_reason_first(ops, app, on_commit):
    owned(app)
    reviews = [pending_review(template=submitted_template(app, name=name)) for name in ("a", "b")]
    ids = [review.pk for review in reviews]
    page = ops.post(QUEUE, {"action": "reject_selected", "_selected_action": ids})
    assert page.status_code == 200 and "Reject with this reason" in page.content.decode()
    # Without a reason: the page again, nothing decided.
    again = ops.post(QUEUE, {"action": "reject_selected", "_selected_action": ids, "reject": "1", "reason": " "})
    assert again.status_code == 200 and "This field is required" in again.content.decode()
    assert Review.objects.pending().count() == 2
    with on_commit():
        done = ops.post(QUEUE, {"action": "reject_selected", "_selected_action": ids, "reject": "1",
                                "reason": "Say what the code is for."})
    assert done.status_code == 302
    assert set(Review.objects.filter(pk__in=ids).values_list("status", "reason")) == {
        ("rejected", "Say what the code is for.")}
    assert len(mail.outbox) == 2
    assert all("Reason: Say what the code is for." in message.body for message in mail.outbox)
    assert not Template.objects.filter(app=app, version__gt=0).exists()


def test_one_at_a_time_on_a_reviews_page(ops, app, on_commit):
    owned(app)
    review = pending_review(template=submitted_template(app))
    page = f"{QUEUE}{review.pk}/change/"
    html = ops.get(page).content.decode()
    assert 'name="decision"' in html and VERIFY_BODY.replace("{{", "{{") in html
    refused = ops.post(page, {"decision": "reject", "reason": ""})
    assert refused.status_code == 200 and "A rejection needs its reason" in refused.content.decode()
    with on_commit():
        assert ops.post(page, {"decision": "reject", "reason": "Which activity?"}).status_code == 302
    review.refresh_from_db()
    assert (review.status, review.reason, review.decided_by.username) == ("rejected", "Which activity?", "operator")
    assert mail.outbox[0].to == ["owner@shop.example"] and "Which activity?" in mail.outbox[0].body
    # Decided: the page shows it, read-only.
    html = ops.get(page).content.decode()
    assert 'name="decision"' not in html and "Which activity?" in html
    assert ops.post(page, {"decision": "approve"}).status_code == 403


def test_a_decision_is_taken_once(ops, app):
    review = pending_review(template=submitted_template(app))
    approve(review)  # another operator, meanwhile
    response = ops.post(QUEUE, {"action": "reject_selected", "_selected_action": [review.pk], "reject": "1",
                                "reason": "late"}, follow=True)
    assert "no longer pending" in response.content.decode()
    review.refresh_from_db()
    assert review.status == "approved"


def test_no_owner_no_address_no_mail(ops, app, on_commit):
    Account.objects.filter(pk=app.account_id).update(email="")
    review = pending_review(template=submitted_template(app))
    with on_commit():
        ops.post(QUEUE, {"action": "approve_selected", "_selected_action": [review.pk]})
    assert mail.outbox == []
    review.refresh_from_db()
    assert review.status == "approved"


def test_the_accounts_own_address_when_its_owner_has_none(ops, app, on_commit):
    Account.objects.filter(pk=app.account_id).update(email="team@shop.example")
    with on_commit():
        ops.post(QUEUE, {"action": "approve_selected", "_selected_action": [pending_review(
            template=submitted_template(app)).pk]})
    assert [message.to for message in mail.outbox] == [["team@shop.example"]]


def test_an_operator_makes_a_template_approved_at_once_and_checked_as_any(ops, app, on_commit):
    fund(app)
    form = {"app": app.pk, "name": "welcome", "category": "verification", "body": "欢迎，验证码{{code}}",
            "signature": "", "reviews-TOTAL_FORMS": 0, "reviews-INITIAL_FORMS": 0}
    refused = ops.post("/admin/templates_review/template/add/", {**form, "body": "欢迎 http://x.example {{code}}"})
    assert refused.status_code == 200 and "may not hold links" in refused.content.decode()
    with on_commit():
        assert ops.post("/admin/templates_review/template/add/", form).status_code == 302
    template = Template.objects.get(app=app, name="welcome")
    assert (template.serving, template.body, template.reviewed_by.username) == (True, "欢迎，验证码{{code}}", "operator")
    review = Review.objects.get(template=template)
    assert (review.status, review.submitted_via, review.decided_by.username) == ("approved", "admin", "operator")
    # Changed in the admin: a new version, at once.
    change = {**form, "reviews-TOTAL_FORMS": 1, "reviews-INITIAL_FORMS": 1, "reviews-0-id": review.pk,
              "reviews-0-template": template.pk, "body": "欢迎回来，验证码{{code}}"}
    del change["app"], change["name"]
    assert ops.post(f"/admin/templates_review/template/{template.pk}/change/", change).status_code == 302
    template.refresh_from_db()
    assert (template.version, template.body) == (2, "欢迎回来，验证码{{code}}")


def test_an_operator_makes_a_signature_approved_at_once(ops, app):
    assert "no spaces" in ops.post("/admin/templates_review/signature/add/",
                                   {"app": app.pk, "text": "天东 商城"}).content.decode()
    assert ops.post("/admin/templates_review/signature/add/",
                    {"app": app.pk, "text": "天东商城", "is_default": "on"}).status_code == 302
    signature = Signature.objects.get(app=app, text="天东商城")
    assert (signature.status, signature.is_default) == (ReviewStatus.APPROVED, True)
    assert Review.objects.get(signature=signature).decided_by.username == "operator"
    # The default is not deleted; another one is.
    assert ops.get(f"/admin/templates_review/signature/{signature.pk}/delete/").status_code == 403
    old = Signature.objects.get(app=app, text=app.name)
    assert ops.post(f"/admin/templates_review/signature/{old.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Signature.objects.filter(pk=old.pk).exists()


def test_a_signature_a_pending_template_asks_for_is_not_deleted(ops, app):
    from .support import approved_signature

    signature = approved_signature(app, "天东商城")
    submitted_template(app, signature="天东商城")
    assert ops.get(f"/admin/templates_review/signature/{signature.pk}/delete/").status_code == 403
    response = ops.post("/admin/templates_review/signature/", {"action": "delete_selected_signatures",
                                                               "_selected_action": [signature.pk]}, follow=True)
    assert "signs the template(s) activity" in response.content.decode()
    assert Signature.objects.filter(pk=signature.pk).exists()
