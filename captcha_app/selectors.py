"""Reads of the captcha app."""
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from smsplatform.tokens import digest

from .models import CaptchaChallenge, ChallengeStatus


def live_challenges(*, now: datetime | None = None) -> QuerySet:
    """Challenges that may still be drawn and answered."""
    return CaptchaChallenge.objects.filter(status=ChallengeStatus.PENDING, expires_at__gt=now or timezone.now())


def challenge_to_answer(*, app, token: str, now: datetime) -> tuple[int, str | None] | None:
    """(id, expected answer) of the app's live challenge behind `token`, or None."""
    return (
        live_challenges(now=now).filter(app=app, token_hash=digest(token))
        .values_list("id", "store__response").first()
    )


def challenge_to_draw(*, app_id: str, token: str) -> tuple[int, int, str] | None:
    """(width, height, django-simple-captcha hashkey) of a live challenge, or None."""
    return (
        live_challenges().filter(app__app_id=app_id, token_hash=digest(token), store__isnull=False)
        .values_list("width", "height", "store__hashkey").first()
    )


def live_validate_tokens(*, app, validate_token: str, now: datetime | None = None) -> QuerySet:
    """The app's unused, unexpired validate token `validate_token` (at most one row)."""
    return CaptchaChallenge.objects.filter(
        app=app, validate_token_hash=digest(validate_token), redeemed_at__isnull=True,
        validate_token_expires_at__gt=now or timezone.now(),
    )


def with_captcha_counts(apps: QuerySet, *, since: datetime | None = None) -> QuerySet:
    """`apps` annotated with their challenges (since `since`): issued, solved, failed, unanswered, redeemed."""
    period = Q(captcha_challenges__created_at__gte=since) if since else Q()

    def count(condition=Q()):
        return Count("captcha_challenges", filter=(period & condition) or None)

    return apps.annotate(
        captcha_issued=count(),
        captcha_solved=count(Q(captcha_challenges__status=ChallengeStatus.SOLVED)),
        captcha_failed=count(Q(captcha_challenges__status=ChallengeStatus.FAILED)),
        captcha_unanswered=count(Q(captcha_challenges__status=ChallengeStatus.PENDING)),
        captcha_redeemed=count(Q(captcha_challenges__redeemed_at__isnull=False)),
    )
