"""The mail that tells an account's owner what the review decided (Django's email framework: the
`EMAIL_*` settings, the console backend by default)."""
import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Review

logger = logging.getLogger(__name__)

MAIL_FAILURES = (smtplib.SMTPException, OSError)


def recipient(account) -> str:
    """The account's owner's address (the owner's login's email, else the account's own), or ""."""
    owner = account.owner
    return (owner.email if owner is not None and owner.email else "") or account.email


def decision_mail(review: Review) -> tuple[str, str]:
    """(subject, text) of the mail about `review`'s decision."""
    what = f"{review.get_kind_display().lower()} {review.subject}"
    subject = f"[smsplatform] {review.app.name}: {what} {review.get_status_display().lower()}"
    text = render_to_string("templates_review/decision_mail.txt", {"review": review, "what": what})
    return subject, text


def mail_decision(review_id: int) -> bool:
    """Mail the decision on `review_id` to its account's owner: whether a mail went."""
    review = Review.objects.select_related("app__account__owner").filter(pk=review_id).first()
    if review is None or review.status not in (Review.Status.APPROVED, Review.Status.REJECTED):
        return False
    to = recipient(review.app.account)
    if not to:
        logger.warning("Review %s: account %s has no email address; its decision is not mailed.",
                       review.pk, review.app.account)
        return False
    subject, text = decision_mail(review)
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    return True
