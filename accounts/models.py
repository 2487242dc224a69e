from decimal import Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from .keys import random_digits, random_key

FREE_DOMESTIC_SMS_PER_ACCOUNT = 100


class Account(models.Model):
    """A developer account: it owns apps and pays for their messages."""

    name = models.CharField(max_length=100, unique=True)
    email = models.EmailField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    balance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    gift_balance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    free_sms_remaining = models.PositiveIntegerField(default=FREE_DOMESTIC_SMS_PER_ACCOUNT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


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
    name = models.CharField(max_length=100, help_text="Fills {name} in messages; the default signature.")
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
    sms_signature = models.CharField(
        "Default signature", max_length=20, blank=True,
        help_text="Signs every message as 【signature】; empty: the app's name.",
    )
    timezone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[_validate_timezone])

    # --- Test number ---
    test_phone_number = models.CharField(
        max_length=20, blank=True,
        help_text="E.164. Its fixed code always verifies; nothing is sent to it.",
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

    SETTINGS = (
        "name",
        "sms_code_service_enabled",
        "international_sms_enabled",
        "sms_signature",
        "timezone",
        "test_phone_number",
        "test_phone_code",
        "limit_interval_seconds",
        "limit_per_minute",
        "limit_verification_per_24h",
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
    )

    class Meta:
        ordering = ["id"]

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
        if self.test_phone_number:
            from sms.phone import normalize_phone  # sms owns phone numbers; tenancy only borrows the parser

            try:
                self.test_phone_number = normalize_phone(self.test_phone_number)
            except ValueError as exc:
                raise ValidationError({"test_phone_number": str(exc)})
        if self.force_captcha and not self.captcha_enabled:
            raise ValidationError({"force_captcha": "Forcing captcha needs the captcha service on."})
        if self.app_key and self.app_key == self.master_key:
            raise ValidationError({"master_key": "The master key must differ from the app key."})

    def settings_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.SETTINGS}
