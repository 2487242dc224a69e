from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import App
from smsplatform import sealing

from .carriers import KINDS, CarrierConfig, CarrierConfigError, adapter_class
from .carriers.config import NAME, NAME_RULE, check_config


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
# A message moves only along these edges; `MessageQuerySet.move_to` and `sms.send_records` enforce
# them in SQL (one conditional UPDATE for a whole batch).
TRANSITIONS = {
    S.SENDING: {S.ACCEPTED},
    # Claimed but certainly never handed to a carrier (its delivery loop died before): given back.
    S.ACCEPTED: {S.SENDING},
    S.WAITING_RECEIPT: {S.SENDING},
    S.DELIVERED: {S.SENDING, S.WAITING_RECEIPT},
    S.DELIVERY_FAILED: {S.SENDING, S.WAITING_RECEIPT},
    S.CALL_FAILED: {S.ACCEPTED, S.SENDING},
    # Once its code is verified, whatever came before: an ambiguous (call failed) message may well have arrived.
    S.VERIFIED: {S.ACCEPTED, S.SENDING, S.WAITING_RECEIPT, S.DELIVERED, S.DELIVERY_FAILED, S.CALL_FAILED},
}
TIMESTAMP_OF = {
    S.SENDING: "claimed_at",
    S.ACCEPTED: None,
    S.WAITING_RECEIPT: "submitted_at",
    S.DELIVERED: "finished_at",
    S.DELIVERY_FAILED: "finished_at",
    S.CALL_FAILED: "finished_at",
    S.VERIFIED: "verified_at",
}
# What the seed's FAQ bills: every status but call failed (and the steps before a final one).
BILLED = {S.WAITING_RECEIPT, S.DELIVERED, S.DELIVERY_FAILED, S.VERIFIED}


class MessageQuerySet(models.QuerySet):
    def may_move_to(self, status):
        return self.filter(status__in=TRANSITIONS[status])

    def move_to(self, status, **fields) -> int:
        """Move every message of this queryset that may go to `status` there; the count moved.
        Callers outside `sms.send_records` should use that service (it also tells the hook point)."""
        if TIMESTAMP_OF[status]:
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
    wire_parts = models.PositiveSmallIntegerField(
        default=0, help_text="Parts on the wire (SMPP: concatenated parts); 0 until submitted.",
    )
    # The clear text (and code) sealed (smsplatform.sealing) on its way to the carrier: cleared (NULL)
    # by the statement that records the submit's result or the final failure.
    sealed = models.TextField(null=True, blank=True, editable=False)
    carrier = models.CharField(max_length=32, blank=True, help_text="The last carrier tried.")
    carrier_message_id = models.CharField(max_length=64, blank=True, help_text="The carrier's id of the first part.")
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=255, blank=True)
    claimed_by = models.CharField(max_length=40, blank=True, help_text="The delivery loop that claimed it.")
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
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
            # The receipt timeout's sweep: records still waiting, oldest first.
            models.Index(
                fields=["submitted_at"], name="sms_message_waiting_receipt",
                condition=Q(status="waiting_receipt", finished_at__isnull=True),
            ),
            # The stuck-sending sweep and the per-carrier figures.
            models.Index(fields=["claimed_by"], name="sms_message_sending", condition=Q(status="sending")),
        ]

    def __str__(self):
        return f"{self.channel} to {self.phone} ({self.status})"

    @property
    def billed(self) -> bool:
        return self.status in BILLED


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


# --- Prices -------------------------------------------------------------------------------------------

class Price(models.Model):
    """What one part of an SMS (or one voice call) to a country calling code costs. A destination
    without a price cannot be sent to. Billing staff edit them in the admin."""

    country_code = models.CharField(max_length=3, help_text="A country calling code: 86, 1, 44...")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    unit_price = models.DecimalField(max_digits=10, decimal_places=4,
                                     help_text="Per part for SMS, per call for voice.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country_code", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["country_code", "channel"], name="sms_price_once"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sms_price_not_negative"),
        ]

    def __str__(self):
        return f"+{self.country_code} {self.channel}: {self.unit_price}"

    def clean(self):
        if not (self.country_code.isdigit() and 1 <= len(self.country_code) <= 3):
            raise ValidationError({"country_code": "1-3 digits (a country calling code)"})


# --- Carriers and routes: data, configured in the admin or by SMS_CARRIERS ---------------------------

def secret_hint(secret: str) -> str:
    """What the admin shows of a secret: that there is one, and its last two characters."""
    return f"••••{secret[-2:]}" if len(secret) > 4 else ("••••" if secret else "")


class Carrier(models.Model):
    """One carrier account (allauth's SocialApp shape): a kind of adapter and its configuration.

    Rows come from the admin, or from SMS_CARRIERS (`from_settings`: rewritten at every start, read-only
    in the admin). The secret is kept sealed (smsplatform.sealing) and never shown back in full.
    """

    name = models.CharField(max_length=32, unique=True, help_text=f"What routes and send records refer to: {NAME_RULE}.")
    kind = models.CharField(max_length=16, help_text="The adapter: " + ", ".join(KINDS) + ".")
    enabled = models.BooleanField(default=True)
    username = models.CharField(max_length=128, blank=True,
                                help_text="SMPP system_id, Twilio account SID, Aliyun AccessKey id.")
    secret_sealed = models.TextField(blank=True, editable=False)
    params = models.JSONField(default=dict, blank=True, help_text='Everything else, e.g. {"host": "smsc", "port": "2775"}.')
    from_settings = models.BooleanField(default=False, editable=False, help_text="Set by SMS_CARRIERS.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-from_settings", "id"]

    def __str__(self):
        return self.name

    @property
    def secret(self) -> str:
        return sealing.unseal(self.secret_sealed) if self.secret_sealed else ""

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_sealed = sealing.seal(value) if value else ""

    @property
    def secret_hint(self) -> str:
        return secret_hint(self.secret)

    def secret_params(self) -> frozenset[str]:
        try:
            return adapter_class(self.kind).SECRET_PARAMS
        except CarrierConfigError:
            return frozenset()

    def params_shown(self) -> dict:
        """The params as the admin shows them: secret ones only as a hint."""
        hidden = self.secret_params()
        return {name: secret_hint(value) if name in hidden else value for name, value in (self.params or {}).items()}

    def config(self) -> CarrierConfig:
        from types import MappingProxyType

        return CarrierConfig(
            name=self.name, kind=self.kind, username=self.username, secret=self.secret,
            params=MappingProxyType({k: "" if v is None else str(v) for k, v in (self.params or {}).items()}),
        )

    def clean(self):
        if not NAME.match(self.name or ""):
            raise ValidationError({"name": NAME_RULE})
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "a JSON object of names and values"})
        try:
            check_config(self.config())
        except CarrierConfigError as exc:
            # The adapter names its own field: kind, name, username, secret, or one of the params.
            field = exc.field if exc.field in ("kind", "name", "username", "secret") else "params"
            raise ValidationError({field: str(exc)})


class RouteStrategy(models.TextChoices):
    ORDERED = "ordered", "In order"
    BEST_DELIVERY_RATE = "best_delivery_rate", "Best delivery rate first"


class Route(models.Model):
    """Routing as data (Jasmin's table): the first enabled route that matches a message's country
    calling code (an exact code before `*`) and channel gives the carriers to try, in order."""

    country_code = models.CharField(max_length=4, default="*", help_text="A country calling code (86, 1, 44...) or *.")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    position = models.PositiveIntegerField(default=0, help_text="Order among routes of the same code and channel.")
    enabled = models.BooleanField(default=True)
    strategy = models.CharField(max_length=24, choices=RouteStrategy.choices, default=RouteStrategy.ORDERED)
    carriers = models.ManyToManyField(Carrier, through="RouteCarrier", related_name="routes")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.country_code} {self.channel} ({self.get_strategy_display().lower()})"

    def clean(self):
        if self.country_code != "*" and not (self.country_code.isdigit() and 1 <= len(self.country_code) <= 3):
            raise ValidationError({"country_code": "1-3 digits (a country calling code) or *"})


class RouteCarrier(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="route_carriers")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["route", "carrier"], name="sms_route_carrier_once")]

    def __str__(self):
        return f"{self.position}: {self.carrier_id}"


# --- What became of each message: parts, attempts, receipts ------------------------------------------

class PartStatus(models.TextChoices):
    PENDING = "pending", "Waiting for receipt"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class MessagePart(models.Model):
    """One part of a submitted message with the carrier's id for it: how a receipt finds its record."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", db_index=False)
    carrier_message_id = models.CharField(max_length=64)
    part_number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=PartStatus.choices, default=PartStatus.PENDING)

    class Meta:
        ordering = ["message", "part_number"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "carrier_message_id"], name="sms_part_carrier_ref"),
        ]

    def __str__(self):
        return f"part {self.part_number} of {self.message_id}: {self.carrier_message_id}"


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted by the carrier"
    DELIVERED = "delivered", "Delivered at once"
    FAILED = "failed", "Failed (not sent)"
    UNKNOWN = "unknown", "Unanswered (may have gone out)"


class DeliveryAttempt(models.Model):
    """One carrier's try at one message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="delivery_attempts")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", db_index=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["message", "started_at", "id"]
        indexes = [models.Index(fields=["carrier", "started_at"], name="sms_attempt_carrier_time")]

    def __str__(self):
        return f"{self.outcome} by {self.carrier_id}"


class ReceiptState(models.TextChoices):
    HELD = "held", "Held (no record with this id yet)"
    APPLIED = "applied", "Applied"
    DUPLICATE = "duplicate", "Duplicate (changed nothing)"
    UNKNOWN = "unknown", "Unknown id"


class Receipt(models.Model):
    """One delivery receipt as a carrier sent it, found by (carrier, carrier_message_id)."""

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", db_index=False)
    carrier_message_id = models.CharField(max_length=64)
    delivered = models.BooleanField()
    error_code = models.CharField(max_length=64, blank=True)
    raw = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ReceiptState.choices, default=ReceiptState.HELD)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="receipts")
    applied_at = models.DateTimeField(null=True, blank=True)
    delay_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Receipt received minus submitted.")

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [
            models.Index(fields=["carrier", "received_at"], name="sms_receipt_carrier_time"),
            # Held receipts, found again by the submit that names their id, and by the sweep.
            models.Index(fields=["carrier", "carrier_message_id"], name="sms_receipt_held",
                         condition=Q(state="held")),
        ]

    def __str__(self):
        return f"{'delivered' if self.delivered else 'failed'} {self.carrier_message_id}"
