from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import App


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice"


class Category(models.TextChoices):
    VERIFICATION = "verification", "Verification"
    NOTIFICATION = "notification", "Notification"


class Purpose(models.TextChoices):
    """What a code proves. A code verifies only for the purpose it was sent for."""

    SMS_CODE = "sms_code", "requestSmsCode"
    LOGIN = "login", "SMS login"
    SIGNUP_OR_LOGIN = "signup_or_login", "Sign up or log in by phone"
    VERIFY_PHONE = "verify_phone", "Phone verification"
    RESET_PASSWORD = "reset_password", "Password reset"
    CHANGE_PHONE = "change_phone", "Change of number"


class MessageStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (queued)"
    SENDING = "sending", "Sending"
    WAITING_RECEIPT = "waiting_receipt", "Waiting for receipt"
    DELIVERED = "delivered", "Delivered"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    CALL_FAILED = "call_failed", "Call failed"
    VERIFIED = "verified", "Verified"


S = MessageStatus
# A message moves only along these edges; `MessageQuerySet.move_to` enforces them in SQL.
TRANSITIONS = {
    S.SENDING: {S.ACCEPTED},
    S.WAITING_RECEIPT: {S.SENDING},
    S.DELIVERED: {S.SENDING, S.WAITING_RECEIPT},
    S.DELIVERY_FAILED: {S.SENDING, S.WAITING_RECEIPT},
    S.CALL_FAILED: {S.ACCEPTED, S.SENDING},
    S.VERIFIED: {S.ACCEPTED, S.SENDING, S.WAITING_RECEIPT, S.DELIVERED, S.DELIVERY_FAILED},
}
TIMESTAMP_OF = {
    S.SENDING: "submitted_at",
    S.WAITING_RECEIPT: "submitted_at",
    S.DELIVERED: "finished_at",
    S.DELIVERY_FAILED: "finished_at",
    S.CALL_FAILED: "finished_at",
    S.VERIFIED: "verified_at",
}


class MessageQuerySet(models.QuerySet):
    def may_move_to(self, status):
        return self.filter(status__in=TRANSITIONS[status])

    def move_to(self, status, **fields) -> int:
        """Move every message of this queryset that may go to `status` there; the count moved."""
        fields.setdefault(TIMESTAMP_OF[status], timezone.now())
        return self.may_move_to(status).update(status=status, **fields)


class Message(models.Model):
    """A send record: one SMS or voice call, written once on accept and moved by the delivery service."""

    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="messages")
    phone = models.CharField(max_length=20)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.VERIFICATION)
    purpose = models.CharField(max_length=24, choices=Purpose.choices, blank=True)
    template = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=32, blank=True)
    text = models.TextField()
    billed_parts = models.PositiveSmallIntegerField(
        default=1, help_text="Parts the text is billed as (70 characters in one, 67 a part beyond).",
    )
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.ACCEPTED
    )
    carrier = models.CharField(max_length=32, blank=True)
    carrier_message_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["app", "-created_at"], name="sms_message_app_created"),
            models.Index(fields=["phone", "-created_at"], name="sms_message_phone_created"),
            models.Index(fields=["status", "-created_at"], name="sms_message_status_created"),
            models.Index(fields=["-created_at"], name="sms_message_created"),
            models.Index(
                fields=["carrier", "carrier_message_id"],
                name="sms_message_carrier_ref",
                condition=~Q(carrier_message_id=""),
            ),
        ]

    def __str__(self):
        return f"{self.channel} to {self.phone} ({self.status})"


class VerificationCode(models.Model):
    """The live code of one (app, number, purpose): a newer code overwrites the row in place."""

    MAX_WRONG_GUESSES = 5
    MAX_TTL_MINUTES = 1440

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    wrong_guesses = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "phone", "purpose"], name="sms_code_one_per_purpose"),
        ]
        # Finds a code without its number (the JS SDK's verifyMobilePhone sends none).
        indexes = [models.Index(fields=["app", "purpose", "code_hash"], name="sms_code_by_hash")]

    def __str__(self):
        return f"{self.purpose} code for {self.phone}"
