"""Celery tasks of the review: mailing a decision to the account's owner."""
from celery import shared_task

from . import mails


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5)
def mail_decision(self, review_id: int) -> None:
    """Mail a review's decision; a mail server that fails is tried again a minute later (5 times)."""
    try:
        mails.mail_decision(review_id)
    except mails.MAIL_FAILURES as error:
        raise self.retry(exc=error, countdown=60)
