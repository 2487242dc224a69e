"""Signatures, templates, and their reviews.

A `Signature` is what a message is signed with (`【text】`): it signs only once approved, and one
approved signature per app is its default. A `Template` holds what serves under its name: the
approved body (empty until one is approved). Everything submitted for approval, a signature or a
template's new body, is a `Review`: the submission as it was, and the decision on it (who, when,
approve or reject, the reason). A template's pending revision is its pending review; the approved
body keeps serving until that review is approved, which copies the revision into the template.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import App
from smsplatform.formats import iso_date


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TemplateCategory(models.TextChoices):
    """What a template sends: a verification code, or a notification (its text only, no code)."""

    VERIFICATION = "verification", "Verification"
    NOTIFICATION = "notification", "Notification"


class Signature(models.Model):
    """An app's signature. The app's default (`is_default`) signs whatever names no other."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="sms_signatures")
    text = models.CharField(max_length=20, help_text="Without 【】: 2-20 Chinese characters, letters or digits.")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was rejected.")
    is_default = models.BooleanField(
        "default", default=False, help_text="Signs every message that names no other signature (approved ones only).",
    )
    default_on_approval = models.BooleanField(
        default=False, help_text="Becomes the app's default once approved (asked for while pending).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["app", "id"]
        constraints = [
            models.UniqueConstraint(fields=["app", "text"], name="templates_review_signature_text"),
            models.UniqueConstraint(
                fields=["app"], condition=Q(is_default=True), name="templates_review_one_default_signature",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(status=ReviewStatus.APPROVED),
                name="templates_review_default_signature_approved",
            ),
        ]

    def __str__(self):
        return f"【{self.text}】"

    @property
    def approved(self) -> bool:
        return self.status == ReviewStatus.APPROVED

    def as_leancloud(self) -> dict:
        return {
            "signature": self.text,
            "status": self.status,
            "reason": self.reason,
            "default": self.is_default,
            "createdAt": iso_date(self.created_at),
            "updatedAt": iso_date(self.updated_at),
        }


class Template(models.Model):
    """An app's template under one name: what serves is its approved body (`version` 0: none yet)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="sms_templates")
    name = models.CharField(max_length=64)
    category = models.CharField(max_length=16, choices=TemplateCategory.choices, blank=True)
    body = models.TextField(blank=True, help_text="Handlebars; empty until a body is approved.")
    signature = models.ForeignKey(
        Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="templates",
        help_text="Signs it unless the request names a signature; empty: the app's default.",
    )
    version = models.PositiveIntegerField(default=0, help_text="How many bodies were approved; 0: none serves yet.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["app", "name"]
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="templates_review_template_name")]

    def __str__(self):
        return self.name

    @property
    def serving(self) -> bool:
        return self.version > 0


class ReviewQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Review.Status.PENDING)


class Review(models.Model):
    """One submission for review (a signature, or a template's body) and the decision on it."""

    class Kind(models.TextChoices):
        SIGNATURE = "signature", "Signature"
        TEMPLATE = "template", "Template"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn (replaced by a newer submission, or deleted)"

    class Via(models.TextChoices):
        API = "api", "REST API (master key)"
        ADMIN = "admin", "Admin"
        NEW_APP = "new_app", "The app's name, when the app was made"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    signature = models.ForeignKey(
        Signature, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews",
        help_text="The signature under review (kind signature).",
    )
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews",
        help_text="The template whose body is under review (kind template).",
    )
    # What was submitted, as it was: the signature's text or the template's name, and a template's
    # category, body and signature (whatever happens to them later).
    subject = models.CharField(max_length=64)
    category = models.CharField(max_length=16, choices=TemplateCategory.choices, blank=True)
    body = models.TextField(blank=True)
    template_signature = models.ForeignKey(
        Signature, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The signature the submitted template names (empty: the app's default).",
    )
    submitted_via = models.CharField(max_length=16, choices=Via.choices, default=Via.API)
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was rejected.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name_plural = "review queue"
        indexes = [models.Index(fields=["status", "submitted_at"], name="templates_review_queue")]
        permissions = [("decide_review", "Can approve or reject what waits for review")]

    def __str__(self):
        return f"{self.get_kind_display().lower()} {self.subject}"

    @property
    def pending(self) -> bool:
        return self.status == self.Status.PENDING
