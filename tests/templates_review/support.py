"""Signatures and templates as the tests need them: submitted the way a developer submits them, and
decided by an operator of the "Operators" group."""
import importlib

from django.contrib.auth.models import Group, Permission

from tests.factories import set_balances, staff_user
from templates_review import services
from templates_review.models import Review

VERIFY_BODY = "您的验证码是{{code}}，{{ttl}}分钟内有效，欢迎使用{{name}}。活动日期：{{date}}"


def operators_group() -> Group:
    """The group the 0003 migration makes; made again as it makes it when a transactional test
    flushed the database (pytest-django runs those last, after the migrations' rows are gone)."""
    group = Group.objects.filter(name="Operators").first()
    if group is None:
        migration = importlib.import_module("templates_review.migrations.0003_operators_group")
        group = Group.objects.create(name="Operators")
        group.permissions.set([Permission.objects.get(content_type__app_label="templates_review", codename=codename)
                               for _, codename in migration.PERMISSIONS])
    return group


def operator(username: str = "operator", password: str | None = None):
    """A staff user of the Operators group (made once per test); without `password` it cannot log in."""
    return staff_user(username, operators_group(), password, domain="ops.example")


def fund(app, balance: str = "200") -> None:
    """The app's account gets `balance` of non-gift balance (what creating templates needs)."""
    set_balances(app.account, balance=balance)


def pending_review(**lookup) -> Review:
    return Review.objects.pending().get(**lookup)


def submitted_template(app, name="activity", body=VERIFY_BODY, category="verification", signature=None):
    """A template as a developer submits it (pending review); the account is funded for it."""
    fund(app)
    template, _ = services.submit_template(app=app, name=name, category=category, body=body, signature_text=signature)
    return template


def approve(review: Review, by=None) -> Review:
    return services.decide(review=review, operator=by or operator(), approve=True)


def reject(review: Review, reason: str = "Not a verification text.", by=None) -> Review:
    return services.decide(review=review, operator=by or operator(), approve=False, reason=reason)


def approved_template(app, name="activity", body=VERIFY_BODY, category="verification", signature=None):
    """A template submitted by the developer and approved by an operator: it serves."""
    template = submitted_template(app, name=name, body=body, category=category, signature=signature)
    approve(pending_review(template=template))
    template.refresh_from_db()
    return template


def submitted_signature(app, text: str, make_default: bool = False):
    signature, _ = services.submit_signature(app=app, text=text, make_default=make_default)
    return signature


def approved_signature(app, text: str, make_default: bool = False):
    signature = submitted_signature(app, text, make_default=make_default)
    approve(pending_review(signature=signature))
    signature.refresh_from_db()
    return signature
