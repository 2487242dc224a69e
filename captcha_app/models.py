from datetime import timedelta
from typing import NamedTuple

from captcha.models import CaptchaStore
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import App


class Bounds(NamedTuple):
    low: int
    high: int
    default: int


# What requestCaptcha accepts.
WIDTH = Bounds(60, 200, 85)  # pixels
HEIGHT = Bounds(30, 100, 30)
SIZE = Bounds(3, 6, 4)  # characters; master key only
TTL = Bounds(10, 180, 60)  # seconds; master key only
VALIDATE_TOKEN_TTL = timedelta(minutes=5)


class ChallengeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    FAILED = "failed", "Failed"


class CaptchaChallenge(models.Model):
    """One image challenge of an app, from requestCaptcha to its one answer.

    The text and the expected answer live in django-simple-captcha's `CaptchaStore` row; this row
    holds what the API needs: the app, the token's digest, the image size, the expiry, the outcome
    and, once solved, the single-use validate token (its digest) that SMS calls redeem.
    """

    # The FK's own index would duplicate the composite one below.
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="captcha_challenges", db_index=False)
    token_hash = models.CharField(max_length=64, unique=True)
    store = models.OneToOneField(CaptchaStore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=ChallengeStatus.choices, default=ChallengeStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    validate_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    validate_token_expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField("validate token used at", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["app", "-created_at"], name="captcha_challenge_app_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ChallengeStatus.values), name="captcha_challenge_status_known",
            ),
            models.CheckConstraint(
                condition=Q(width__range=WIDTH[:2], height__range=HEIGHT[:2]),
                name="captcha_challenge_size_in_range",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="captcha_challenge_expires_later"),
            # Answered exactly when no longer pending.
            models.CheckConstraint(
                condition=Q(status=ChallengeStatus.PENDING, answered_at__isnull=True)
                | (~Q(status=ChallengeStatus.PENDING) & Q(answered_at__isnull=False)),
                name="captcha_challenge_answered_iff_not_pending",
            ),
            # A validate token exactly when solved; used only then.
            models.CheckConstraint(
                condition=Q(
                    status=ChallengeStatus.SOLVED,
                    validate_token_hash__isnull=False, validate_token_expires_at__isnull=False,
                )
                | (~Q(status=ChallengeStatus.SOLVED) & Q(
                    validate_token_hash__isnull=True, validate_token_expires_at__isnull=True, redeemed_at__isnull=True,
                )),
                name="captcha_challenge_token_iff_solved",
            ),
        ]

    def __str__(self):
        return f"captcha of {self.app_id} ({self.status})"


class AppCaptchaUsage(App):
    """The apps, seen in the admin with their captcha figures."""

    class Meta:
        proxy = True
        verbose_name = "captcha usage of an app"
        verbose_name_plural = "captcha usage per app"
