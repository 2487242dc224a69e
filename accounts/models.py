import re
from decimal import Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from smsplatform.formats import iso_date
from smsplatform.phone import PhoneNumberField
from smsplatform.tokens import new_object_id, random_digits, random_key

FREE_DOMESTIC_SMS_PER_ACCOUNT = 100
FREE_QUOTA_REASON = "free domestic SMS quota"


class Account(models.Model):
    """A developer account: it owns apps and pays for their messages.

    Its money is kept in `Purse` rows (see there) and changes only through `accounts.services.money`,
    which writes a `LedgerEntry` for every change in the same transaction.
    """

    name = models.CharField(max_length=100, unique=True)
    email = models.EmailField(blank=True, help_text="Where low-balance alerts are emailed.")
    phone = PhoneNumberField(
        "Owner's mobile number", blank=True, help_text="Where low-balance alerts are sent by SMS (free of charge).",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    low_balance_threshold = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True,
        help_text="Alert (email and SMS) when a charge takes balance + gift balance below this; empty: no alert.",
    )
    low_balance_alerted = models.BooleanField(
        default=False, editable=False,
        help_text="An alert went out and the balance has not been back above the threshold since.",
    )
    is_platform = models.BooleanField(
        default=False, editable=False, help_text="smsplatform's own account: its messages (alerts) are free.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [("record_money", "Can record recharges and adjustments of an account's balances")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Every account has its purses, and its free quota arrives as a ledger entry, with the account.
        adding = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if adding:
                open_purses(self)


def open_purses(account: "Account") -> None:
    """Give `account` its purses (slot 0 with the free quota) and the quota's ledger entry, once."""
    if Purse.objects.filter(account=account).exists():
        return
    Purse.objects.bulk_create(
        [Purse(account=account, slot=slot, free_sms=FREE_DOMESTIC_SMS_PER_ACCOUNT if slot == 0 else 0)
         for slot in range(settings.BILLING_PURSES)]
    )
    LedgerEntry.objects.create(account=account, kind=LedgerKind.GIFT, free_sms=FREE_DOMESTIC_SMS_PER_ACCOUNT,
                               reason=FREE_QUOTA_REASON)


def _validate_timezone(value):
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Asia/Shanghai.")


key_validator = RegexValidator(r"^[A-Za-z0-9-]{8,64}$", "Use 8 to 64 letters, digits or '-'.")


class App(models.Model):
    """A developer's app: its keys and its settings.

    The settings are the fields named in `SETTINGS`; the admin and the `app_settings` command edit
    exactly those.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="apps")
    app_id = models.CharField("App ID", max_length=64, unique=True, blank=True, validators=[key_validator])
    app_key = models.CharField("App Key", max_length=64, blank=True, validators=[key_validator])
    master_key = models.CharField("Master Key", max_length=64, blank=True, validators=[key_validator])
    hook_key = models.CharField(
        "Hook Key", max_length=64, blank=True, validators=[key_validator],
        help_text="Give it to your LeanEngine app as LEANCLOUD_APP_HOOK_KEY. Blank keys are generated.",
    )
    name = models.CharField(
        max_length=100, help_text="Fills {name} in messages; made into the app's default signature when the app is made.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- SMS options ---
    sms_code_service_enabled = models.BooleanField(
        "Generic SMS code service", default=True,
        help_text="Opens requestSmsCode and verifySmsCode; off, they answer 119.",
    )
    international_sms_enabled = models.BooleanField(
        "International SMS", default=False, help_text="Allow numbers outside mainland China."
    )
    timezone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[_validate_timezone])

    # --- Test number ---
    test_phone_number = PhoneNumberField(
        blank=True, help_text="E.164. Its fixed code always verifies; nothing is sent to it.",
    )
    test_phone_code = models.CharField(
        max_length=6, default=random_digits,
        validators=[RegexValidator(r"^\d{6}$", "Six digits.")],
    )

    # --- Per-number limits (0: no limit) ---
    limit_interval_seconds = models.PositiveIntegerField(
        default=10, help_text="At most one SMS per number every this many seconds (code 1)."
    )
    limit_per_minute = models.PositiveIntegerField(
        default=1, help_text="Per number and signature, every kind of message (601)."
    )
    limit_verification_per_24h = models.PositiveIntegerField(
        default=10, help_text="Verification SMS per number and signature in any 24 hours (601)."
    )
    limit_notification_per_day = models.PositiveIntegerField(
        default=15, help_text="Notification SMS per number and signature in one calendar day, in the app's time zone (601).",
    )
    limit_voice_per_30s = models.PositiveIntegerField(default=1, help_text="Voice codes per number (601).")
    limit_voice_per_hour = models.PositiveIntegerField(default=3, help_text="Voice codes per number (601).")
    limit_voice_per_day = models.PositiveIntegerField(
        default=5, help_text="Voice codes per number in any 24 hours (601)."
    )

    # --- End-user account options ---
    verify_phone_on_signup = models.BooleanField(
        "Verify phone on sign-up", default=False,
        help_text="Send a verification SMS when a user signs up or changes number with a phone.",
    )
    login_requires_verified_phone = models.BooleanField(
        "Forbid login to unverified numbers", default=False,
        help_text="Phone-and-password login needs a verified number.",
    )
    reset_password_unverified_allowed = models.BooleanField(
        "SMS password reset for unverified numbers", default=False,
    )
    sms_login_enabled = models.BooleanField("SMS login for verified numbers", default=True)

    # --- Captcha ---
    captcha_enabled = models.BooleanField(
        "Captcha service", default=True, help_text="Opens requestCaptcha and verifyCaptcha; off, they answer 119."
    )
    force_captcha = models.BooleanField(
        "Force captcha", default=False,
        help_text="Every SMS-sending call needs a validate_token from verifyCaptcha (else 608).",
    )

    # --- Cloud engine (onVerified hook) ---
    engine_url = models.URLField(
        "Engine URL", blank=True, help_text="Your LeanEngine app's base URL; empty: no onVerified hook."
    )

    # --- Billing ---
    daily_spend_cap = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True,
        help_text="At most this much charged a day (balance and gift balance, in the app's time zone); "
                  "past it, sends are refused (154). Empty: no cap.",
    )

    SETTINGS = (
        "name",
        "sms_code_service_enabled",
        "international_sms_enabled",
        "timezone",
        "test_phone_number",
        "test_phone_code",
        "limit_interval_seconds",
        "limit_per_minute",
        "limit_verification_per_24h",
        "limit_notification_per_day",
        "limit_voice_per_30s",
        "limit_voice_per_hour",
        "limit_voice_per_day",
        "verify_phone_on_signup",
        "login_requires_verified_phone",
        "reset_password_unverified_allowed",
        "sms_login_enabled",
        "captcha_enabled",
        "force_captcha",
        "engine_url",
        "hook_key",
        "daily_spend_cap",
    )

    # What opens an app to anyone who holds it: shown in the admin only with the `view_app_secrets` permission.
    SECRETS = ("master_key", "hook_key", "test_phone_code")

    class Meta:
        ordering = ["id"]
        permissions = [("view_app_secrets", "Can view an app's master key, hook key and test code")]

    def __str__(self):
        return f"{self.name} ({self.app_id})"

    def fill_missing_keys(self) -> None:
        for field in ("app_id", "app_key", "master_key", "hook_key"):
            if not getattr(self, field):
                setattr(self, field, random_key())

    def save(self, *args, **kwargs):
        self.fill_missing_keys()
        super().save(*args, **kwargs)

    def clean(self):
        if self.force_captcha and not self.captcha_enabled:
            raise ValidationError({"force_captcha": "Forcing captcha needs the captcha service on."})
        if self.app_key and self.app_key == self.master_key:
            raise ValidationError({"master_key": "The master key must differ from the app key."})

    def settings_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.SETTINGS}

    def is_test_number(self, phone: str) -> bool:
        """Whether `phone` (E.164) is the app's test number: its fixed code verifies, nothing is sent."""
        return bool(self.test_phone_number) and phone == self.test_phone_number


class Purse(models.Model):
    """One slice of an account's money. An account's balance is the sum of its purses' balances.

    The cash balance is spread over several purses so that charges from many connections at once
    each lock a different row for the moment of their commit, instead of queueing on one hot row.
    The free quota and the gift balance live in slot 0 only: they are spent first, one charge at
    a time. No purse ever goes below zero (the database refuses it).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="purses")
    slot = models.PositiveSmallIntegerField()
    balance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    gift_balance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    free_sms = models.PositiveIntegerField(default=0, help_text="Free domestic SMS parts left.")

    class Meta:
        ordering = ["account", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["account", "slot"], name="accounts_purse_slot"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="accounts_purse_balance_not_negative"),
            models.CheckConstraint(condition=Q(gift_balance__gte=0), name="accounts_purse_gift_not_negative"),
            models.CheckConstraint(condition=Q(slot=0) | Q(gift_balance=0, free_sms=0),
                                   name="accounts_purse_promo_in_slot_0"),
        ]

    def __str__(self):
        return f"{self.account_id}/{self.slot}"


class LedgerKind(models.TextChoices):
    RECHARGE = "recharge", "Recharge"
    GIFT = "gift", "Gift"
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"


class LedgerEntry(models.Model):
    """One change of an account's money, written in the transaction that made it.

    Each column is a signed change: the account's balance is the sum of `balance`, its gift balance
    the sum of `gift`, its free SMS the sum of `free_sms` (the 100 of the quota arrive as an entry).
    A charge names its message (by id: send records are one floor up) and its app.
    """

    # No foreign-key constraints in the database: every charge would take a share lock on the one
    # account (and app) row that all of its charges name, the hot row the purses avoid. Only
    # accounts.services.money writes entries, with ids it has just read; Django still protects them.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger", db_constraint=False)
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    balance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    gift = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    free_sms = models.IntegerField(default=0)
    app = models.ForeignKey(App, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            db_constraint=False)
    message_id = models.BigIntegerField(null=True, blank=True, help_text="The send record charged or refunded.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Who recorded it; empty: the service.")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "-created_at"], name="accounts_ledger_account")]
        constraints = [
            # One charge and at most one refund per message, whatever retries happen (and how a
            # message's entries are found).
            models.UniqueConstraint(fields=["message_id"], condition=Q(kind="charge"), name="accounts_ledger_one_charge"),
            models.UniqueConstraint(fields=["message_id"], condition=Q(kind="refund"), name="accounts_ledger_one_refund"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.balance:+} / gift {self.gift:+} / free {self.free_sms:+}"


class AppDailySpend(models.Model):
    """What an app was charged on one day (its time zone): what its `daily_spend_cap` is checked against.
    Only apps with a cap have rows."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "day"], name="accounts_spend_app_day")]


# A username that is a phone number in E.164, as usersByMobilePhone names a new user.
_NUMBER_AS_USERNAME = re.compile(r"\+\d{6,15}")
object_id_validator = RegexValidator(r"^[0-9a-f]{24}$", "24 lowercase hexadecimal characters.")


class EndUser(models.Model):
    """An app's end user: LeanCloud's `_User`.

    Each unique constraint leads with the looked-up column, so one index serves both the API's
    lookups (always within one app) and the admin's searches across apps.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="end_users")
    object_id = models.CharField("objectId", max_length=24, default=new_object_id, validators=[object_id_validator])
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=255, help_text="A Django password hash; unusable: no password login.")
    email = models.CharField(max_length=254, blank=True)
    email_verified = models.BooleanField("emailVerified", default=False)
    mobile_phone_number = PhoneNumberField("mobilePhoneNumber", blank=True, help_text="E.164.")
    mobile_phone_verified = models.BooleanField("mobilePhoneVerified", default=False)
    custom = models.JSONField("Custom fields", default=dict, blank=True)
    created_at = models.DateTimeField("createdAt", default=timezone.now)
    updated_at = models.DateTimeField("updatedAt", default=timezone.now)

    class Meta:
        verbose_name = "end user"
        constraints = [
            models.UniqueConstraint(fields=["object_id", "app"], name="accounts_user_object_id"),
            models.UniqueConstraint(fields=["username", "app"], name="accounts_user_username"),
            models.UniqueConstraint(fields=["email", "app"], condition=~Q(email=""), name="accounts_user_email"),
            models.UniqueConstraint(
                fields=["mobile_phone_number", "app"], condition=~Q(mobile_phone_number=""), name="accounts_user_phone",
            ),
            models.CheckConstraint(
                condition=Q(mobile_phone_verified=False) | ~Q(mobile_phone_number=""),
                name="accounts_user_verified_phone_exists",
            ),
            models.CheckConstraint(
                condition=Q(email_verified=False) | ~Q(email=""), name="accounts_user_verified_email_exists",
            ),
            models.CheckConstraint(condition=~Q(username=""), name="accounts_user_username_not_empty"),
        ]

    def __str__(self):
        return f"{self.username} ({self.object_id})"

    def set_password(self, raw_password: str | None) -> None:
        """None makes the password unusable: the user logs in by SMS only."""
        self.password = make_password(raw_password)

    def as_leancloud(self, *, session_token: str | None = None) -> dict:
        """The user as LeanCloud shows it to the user itself and the master key: custom fields, then
        the built-in ones; never the password."""
        shown = dict(self.custom)
        shown.update({
            "objectId": self.object_id,
            "username": self.username,
            "emailVerified": self.email_verified,
            "mobilePhoneVerified": self.mobile_phone_verified,
            "createdAt": iso_date(self.created_at),
            "updatedAt": iso_date(self.updated_at),
        })
        if self.email:
            shown["email"] = self.email
        if self.mobile_phone_number:
            shown["mobilePhoneNumber"] = self.mobile_phone_number
        if session_token:
            shown["sessionToken"] = session_token
        return shown

    def as_public(self) -> dict:
        """The user as anyone else with the app's key sees it: its objectId, username and dates; never
        its number, email, flags or custom fields (Parse Server's protectedFields, stricter). A username
        that is a number (usersByMobilePhone names new users after theirs) is not shown either."""
        shown = {"objectId": self.object_id}
        if not _NUMBER_AS_USERNAME.fullmatch(self.username):
            shown["username"] = self.username
        shown.update({"createdAt": iso_date(self.created_at), "updatedAt": iso_date(self.updated_at)})
        return shown


class Session(models.Model):
    """A logged-in end user: one per login; a user may hold several."""

    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sessions")
    # `smsplatform.tokens.digest` of the token: a database dump yields no usable token.
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        # A constraint rather than unique=True: no second (LIKE) index on PostgreSQL.
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="accounts_session_token")]

    def __str__(self):
        return f"session of {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"


class HookAttempt(models.Model):
    """One call of an app's cloud engine hook (onVerified) and what came of it."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="hook_attempts", db_index=False)
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="hook_attempts")
    hook = models.CharField(max_length=64, default="onVerified/sms")
    url = models.CharField(max_length=500)
    attempt = models.PositiveSmallIntegerField(help_text="1 for the first call, 2 for the first retry, ...")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no answer.")
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["app", "-created_at"], name="accounts_hook_app_created")]

    def __str__(self):
        outcome = self.status_code or self.error or "no answer"
        return f"{self.hook} #{self.attempt} for {self.user_id}: {outcome}"
