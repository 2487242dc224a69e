"""Every change of signatures and templates: submitting them (the REST API, the admin), deciding their
reviews (the admin's queue), deleting them, and an app's first default signature.

A developer's submission waits for review; an operator's (in the admin) is approved by that
operator as it is made, and recorded so. Each decision is a `Review` row (who, when, what, why) and
a mail to the account's owner, sent by a task once the decision commits.
"""
import logging
import re
from decimal import Decimal

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Account, App
from accounts.selectors import balances
from smsplatform.errors import Errors, LeanCloudError

from . import checks, selectors
from .models import Review, ReviewStatus, Signature, Template, TemplateCategory
from .tasks import mail_decision

logger = logging.getLogger(__name__)

MAX_TEMPLATES_PER_APP = 10
MAX_SIGNATURES_PER_APP = 20
# Creating or changing a template needs this much non-gift balance on the developer account.
MIN_BALANCE_FOR_TEMPLATES = Decimal("200")
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}")
MAX_REASON_CHARACTERS = 500

TEMPLATE_NAME_RULE = "A template's name is 1 to 64 letters, digits, Chinese characters, _ or -."
CATEGORY_RULE = "category must be 'verification' or 'notification'."
BALANCE_RULE = f"Creating or changing a template needs at least {MIN_BALANCE_FOR_TEMPLATES:.0f} of non-gift balance."
TOO_MANY_TEMPLATES = f"An app has at most {MAX_TEMPLATES_PER_APP} templates."
TOO_MANY_SIGNATURES = f"An app has at most {MAX_SIGNATURES_PER_APP} signatures."
DEFAULT_NOT_DELETED = "The default signature cannot be deleted: make another signature the default first."


class NotPending(Exception):
    """A decision on a review that is no longer pending (decided meanwhile, or withdrawn)."""


def _locked(app: App) -> App:
    """The app's row, locked until the transaction ends: one change of its signatures and templates
    at a time (the caps and the one default hold under concurrency)."""
    return App.objects.select_for_update().get(pk=app.pk)


def _decided_now(review: Review, *, status: str, operator, reason: str = "") -> None:
    review.status, review.reason, review.decided_by, review.decided_at = status, reason, operator, timezone.now()


def _mail_once_committed(review: Review) -> None:
    review_id = review.pk
    transaction.on_commit(lambda: mail_decision.delay(review_id))


# --- Signatures --------------------------------------------------------------------------------

def signature_named(*, app: App, text: str) -> Signature:
    signature = Signature.objects.filter(app=app, text=text).first()
    if signature is None:
        raise LeanCloudError(Errors.INVALID_SIGNATURE, f"Invalid SMS signature: the app has no signature {text}.")
    return signature


def check_signature_text(text) -> str:
    problems = checks.signature_problems(text)
    if problems:
        raise LeanCloudError(Errors.INVALID_SIGNATURE, "Invalid SMS signature: " + " ".join(problems))
    return text


def _make_default(signature: Signature) -> None:
    Signature.objects.filter(app_id=signature.app_id, is_default=True).exclude(pk=signature.pk).update(is_default=False)
    signature.is_default, signature.default_on_approval = True, False


def _approve_signature(signature: Signature) -> None:
    signature.status, signature.reason = ReviewStatus.APPROVED, ""
    if signature.default_on_approval or not Signature.objects.filter(app_id=signature.app_id, is_default=True).exists():
        _make_default(signature)


def check_signature_submission(*, app: App, text) -> Signature | None:
    """Every check of a signature's submission: (the app's signature of that text, or None), or the
    first LeanCloudError (600 with the rules it breaks, code 1 past 20 signatures)."""
    check_signature_text(text)
    signature = Signature.objects.filter(app=app, text=text).first()
    if signature is None and Signature.objects.filter(app=app).count() >= MAX_SIGNATURES_PER_APP:
        raise LeanCloudError(Errors.BAD_REQUEST, TOO_MANY_SIGNATURES)
    return signature


@transaction.atomic
def submit_signature(*, app: App, text, make_default: bool = False, operator=None) -> tuple[Signature, bool]:
    """Submit `text` as a signature of `app` (or again, after a rejection); (the signature, made now?).

    An approved signature is not reviewed again: `make_default` makes it the default at once. A
    pending one becomes the default once approved; so does an app's first approved signature. An
    operator's is approved by them at once.
    """
    check_signature_text(text)
    _locked(app)
    signature = check_signature_submission(app=app, text=text)
    created = signature is None
    if created:
        signature = Signature(app=app, text=text)
    if signature.approved:
        if make_default and not signature.is_default:
            _make_default(signature)
    else:
        signature.default_on_approval = signature.default_on_approval or make_default
        if created or signature.status == ReviewStatus.REJECTED or operator is not None:
            signature.status, signature.reason = ReviewStatus.PENDING, ""
            signature.save()
            Review.objects.filter(signature=signature, status=Review.Status.PENDING).update(
                status=Review.Status.WITHDRAWN)
            review = Review(app=app, kind=Review.Kind.SIGNATURE, signature=signature, subject=text,
                            submitted_via=Review.Via.API if operator is None else Review.Via.ADMIN)
            if operator is not None:
                _decided_now(review, status=Review.Status.APPROVED, operator=operator)
                _approve_signature(signature)
            review.save()
            if operator is not None:
                _mail_once_committed(review)
    signature.updated_at = timezone.now()
    signature.save()
    return signature, created


@transaction.atomic
def make_default_signature(*, signature: Signature) -> None:
    """Make an approved signature its app's default (an operator's choice in the admin)."""
    _locked(signature.app)
    signature.refresh_from_db()
    if not signature.approved:
        raise LeanCloudError(Errors.SIGNATURE_NOT_VERIFIED)
    _make_default(signature)
    signature.updated_at = timezone.now()
    signature.save()


@transaction.atomic
def delete_signature(*, app: App, text: str) -> None:
    """Delete a signature that is not the default and that no template uses (code 1 says which)."""
    _locked(app)
    signature = signature_named(app=app, text=text)
    if signature.is_default:
        raise LeanCloudError(Errors.BAD_REQUEST, DEFAULT_NOT_DELETED)
    users = sorted(set(Template.objects.filter(signature=signature).values_list("name", flat=True)) | set(
        Review.objects.pending().filter(template_signature=signature).values_list("subject", flat=True)))
    if users:
        raise LeanCloudError(Errors.BAD_REQUEST,
                             f"The signature {text} signs the template(s) {', '.join(users)}: change them first.")
    Review.objects.filter(signature=signature, status=Review.Status.PENDING).update(status=Review.Status.WITHDRAWN)
    signature.delete()


@receiver(post_save, sender=App)
def give_a_new_app_its_default_signature(sender, instance: App, created: bool, raw: bool = False, **kwargs):
    """An app made by an operator (`create_app`, the admin, `make run`'s demo app) gets its name as its
    approved default signature: its Chinese characters, letters and digits, at most 20. A name that
    gives no signature (letters only, say) gives none: the app's SMS answer 600 until an operator
    adds one in the admin (the first approved signature becomes the default)."""
    if not created or raw:
        return
    text = checks.signature_from_name(instance.name)
    if text is None:
        logger.warning("App %s: its name %r is no SMS signature (%s); it has no default signature until one is "
                       "added.", instance.app_id, instance.name, " ".join(checks.signature_problems(instance.name)))
        return
    signature = Signature.objects.create(app=instance, text=text, status=ReviewStatus.APPROVED, is_default=True)
    review = Review(app=instance, kind=Review.Kind.SIGNATURE, signature=signature, subject=text,
                    submitted_via=Review.Via.NEW_APP)
    _decided_now(review, status=Review.Status.APPROVED, operator=None)
    review.save()


# --- Templates ---------------------------------------------------------------------------------

def template_named(*, app: App, name: str) -> Template:
    template = Template.objects.filter(app=app, name=name).first()
    if template is None:
        raise LeanCloudError(Errors.TEMPLATE_NOT_FOUND)
    return template


def check_template(*, app: App, name, category, body) -> None:
    """The checks of a submission that need no database (code 1 with every failure's reason)."""
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
        raise LeanCloudError(Errors.BAD_REQUEST, TEMPLATE_NAME_RULE)
    if category not in TemplateCategory.values:
        raise LeanCloudError(Errors.BAD_REQUEST, CATEGORY_RULE)
    failed = checks.failures(checks.body_checks(category=category, body=body if isinstance(body, str) else ""))
    if failed:
        raise LeanCloudError(Errors.BAD_REQUEST, "The template is refused: " + " ".join(
            reason if reason.endswith(".") else reason + "." for reason in failed))


def has_balance_for_templates(account: Account) -> bool:
    return balances(account.pk).balance >= MIN_BALANCE_FOR_TEMPLATES


def check_template_submission(*, app: App, name, category, body, signature_text=None):
    """Every check of a submission, the database's too (its signature is the app's, at most 10
    templates per app, at least 200 of non-gift balance): (the template of that name or None, the
    signature or None, whether it is what serves already), or the first LeanCloudError."""
    check_template(app=app, name=name, category=category, body=body)
    signature = signature_named(app=app, text=signature_text) if signature_text else None
    template = Template.objects.filter(app=app, name=name).first()
    if template is not None and template.serving and (template.category, template.body, template.signature_id) == (
            category, body, signature.pk if signature else None):
        return template, signature, True
    if template is None and Template.objects.filter(app=app).count() >= MAX_TEMPLATES_PER_APP:
        raise LeanCloudError(Errors.BAD_REQUEST, TOO_MANY_TEMPLATES)
    if not has_balance_for_templates(Account.objects.get(pk=app.account_id)):
        raise LeanCloudError(Errors.INSUFFICIENT_BALANCE, BALANCE_RULE)
    return template, signature, False


@transaction.atomic
def submit_template(*, app: App, name, category, body, signature_text=None, operator=None) -> tuple[Template, bool]:
    """Create a template, or revise the one of that name; (the template, made now?).

    Checked first (`check_template_submission`: each failure with its reason). A revision of an
    approved template waits beside it, which serves until the revision is approved; a newer
    submission replaces a pending one. An operator's is approved by them at once.
    """
    check_template(app=app, name=name, category=category, body=body)
    _locked(app)
    template, signature, serving_already = check_template_submission(
        app=app, name=name, category=category, body=body, signature_text=signature_text)
    if serving_already:
        return template, False  # what serves already: nothing to review
    created = template is None
    if created:
        template = Template.objects.create(app=app, name=name)
    Review.objects.filter(template=template, status=Review.Status.PENDING).update(status=Review.Status.WITHDRAWN)
    review = Review(app=app, kind=Review.Kind.TEMPLATE, template=template, subject=name, category=category,
                    body=body, template_signature=signature,
                    submitted_via=Review.Via.API if operator is None else Review.Via.ADMIN)
    if operator is not None:
        _decided_now(review, status=Review.Status.APPROVED, operator=operator)
        _serve(template, review)
    review.save()
    if operator is not None:
        _mail_once_committed(review)
    template.updated_at = timezone.now()
    template.save()
    return template, created


def _serve(template: Template, review: Review) -> None:
    """The approved submission replaces what served."""
    template.category, template.body, template.signature = review.category, review.body, review.template_signature
    template.version += 1
    template.reviewed_by, template.reviewed_at = review.decided_by, review.decided_at


@transaction.atomic
def delete_template(*, app: App, name: str) -> None:
    _locked(app)
    template = template_named(app=app, name=name)
    Review.objects.filter(template=template, status=Review.Status.PENDING).update(status=Review.Status.WITHDRAWN)
    template.delete()


# --- Decisions ---------------------------------------------------------------------------------

def decide(*, review: Review, operator, approve: bool, reason: str = "") -> Review:
    """Approve or reject (with its reason) one pending review, as `operator`: the decision is
    recorded, takes effect, and is mailed to the account's owner once it commits."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValueError("A rejection needs its reason.")
    if len(reason) > MAX_REASON_CHARACTERS:
        raise ValueError(f"A reason has at most {MAX_REASON_CHARACTERS} characters.")
    with transaction.atomic():
        _locked(review.app)
        review = Review.objects.select_related("signature", "template", "template_signature").get(pk=review.pk)
        if not review.pending:
            raise NotPending(str(review))
        _decided_now(review, status=Review.Status.APPROVED if approve else Review.Status.REJECTED,
                     operator=operator, reason="" if approve else reason)
        review.save()
        if review.kind == Review.Kind.SIGNATURE and review.signature is not None:
            signature = review.signature
            if approve:
                _approve_signature(signature)
            else:
                signature.status, signature.reason = ReviewStatus.REJECTED, reason
            signature.updated_at = review.decided_at
            signature.save()
        elif review.kind == Review.Kind.TEMPLATE and review.template is not None and approve:
            _serve(review.template, review)
            review.template.updated_at = review.decided_at
            review.template.save()
        selectors.forget_app(review.app_id)
        _mail_once_committed(review)
    return review


def decide_many(*, reviews, operator, approve: bool, reason: str = "") -> tuple[int, int]:
    """`decide` each of `reviews` (oldest first), one transaction each; (decided, skipped: not pending)."""
    decided = skipped = 0
    for review in sorted(reviews, key=lambda r: (r.submitted_at, r.pk)):
        try:
            decide(review=review, operator=operator, approve=approve, reason=reason)
            decided += 1
        except NotPending:
            skipped += 1
    return decided, skipped
