from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.hashers import identify_hasher, is_password_usable
from django.db.models import Sum
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext

from smsplatform.admin_tools import PhoneNumberSearch, ReadOnlyAdmin

from . import billing_admin
from .models import Account, App, EndUser, HookAttempt, Session
from .services.app_settings import rotate_keys
from .services.money import CENT


def _amount(value) -> Decimal | None:
    """A sum of amounts as the ledger keeps them (SQLite sums decimals in floating point)."""
    return None if value is None else Decimal(value).quantize(CENT)


class AppInline(admin.TabularInline):
    model = App
    fields = ("name", "app_id", "created_at")
    readonly_fields = ("name", "app_id", "created_at")
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "balance", "gift_balance", "free_sms", "created_at")
    search_fields = ("name", "email")
    fields = ("name", "email", "phone", "owner", "low_balance_threshold", "balance", "gift_balance", "free_sms",
              "created_at")
    # Money is never typed in: it changes only through the services that account for it.
    readonly_fields = ("balance", "gift_balance", "free_sms", "created_at")
    inlines = [AppInline]
    # Above the form: "Record a recharge or adjustment" (accounts.record_money), the statement, the chart.
    change_form_template = "admin/accounts/account/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:account_id>/money/",
                 wrap(lambda request, account_id: billing_admin.money_view(self, request, account_id)),
                 name="accounts_account_money"),
        ] + super().get_urls()

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _balance=Sum("purses__balance"), _gift=Sum("purses__gift_balance"), _free=Sum("purses__free_sms"))

    @admin.display(description="balance", ordering="_balance")
    def balance(self, account):
        return _amount(getattr(account, "_balance", None))

    @admin.display(description="gift balance", ordering="_gift")
    def gift_balance(self, account):
        return _amount(getattr(account, "_gift", None))

    @admin.display(description="free SMS left", ordering="_free")
    def free_sms(self, account):
        return getattr(account, "_free", None)


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ("name", "app_id", "account", "sms_code_service_enabled", "international_sms_enabled", "created_at")
    list_filter = ("sms_code_service_enabled", "international_sms_enabled")
    search_fields = ("name", "app_id", "account__name")
    list_select_related = ("account",)
    KEYS = ("app_id", "app_key", "master_key")
    fieldsets = (
        (None, {"fields": ("account", "name")}),
        ("Keys", {"fields": KEYS + ("hook_key",)}),
        ("SMS", {"fields": ("sms_code_service_enabled", "international_sms_enabled", "timezone")}),
        ("Test number", {"fields": ("test_phone_number", "test_phone_code")}),
        ("Per-number limits", {"fields": (
            "limit_interval_seconds", "limit_per_minute", "limit_verification_per_24h", "limit_notification_per_day",
            "limit_voice_per_30s", "limit_voice_per_hour", "limit_voice_per_day",
        )}),
        ("End-user accounts", {"fields": (
            "verify_phone_on_signup", "login_requires_verified_phone",
            "reset_password_unverified_allowed", "sms_login_enabled",
        )}),
        ("Captcha", {"fields": ("captcha_enabled", "force_captcha")}),
        ("Cloud engine", {"fields": ("engine_url",)}),
        ("Billing", {"fields": ("daily_spend_cap",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    actions = ["rotate_keys"]

    @admin.action(description="Rotate the app key and master key of the selected apps (the old keys stop working at once)",
                  permissions=["change"])
    def rotate_keys(self, request, queryset):
        for app in queryset:
            rotate_keys(app=app)
        self.message_user(request, f"New app and master keys for {queryset.count()} app(s): the old ones are refused "
                                   "from now on; give the new ones to the apps' developers.")

    def get_readonly_fields(self, request, obj=None):
        # Keys are made with the app (blank ones are generated) and shown, not edited, afterwards.
        return ("created_at", "updated_at") + (self.KEYS if obj else ())

    def get_fieldsets(self, request, obj=None):
        fieldsets = self.fieldsets if obj is not None else self.fieldsets[:-1]
        if request.user.has_perm("accounts.view_app_secrets"):
            return fieldsets
        # Without the permission an app's secrets are neither shown nor in the form (a new app's are generated).
        return tuple((name, {**options, "fields": tuple(f for f in options["fields"] if f not in App.SECRETS)})
                     for name, options in fieldsets)


def password_summary(encoded: str):
    """What Django's own user admin shows of a stored password (ReadOnlyPasswordHashWidget, without its
    reset button): the hasher's safe summary, or why there is none."""
    if not encoded or not is_password_usable(encoded):
        return "No password set."
    try:
        hasher = identify_hasher(encoded)
    except ValueError:
        return "Invalid password format or unknown hashing algorithm."
    return format_html_join(" ", "<strong>{}</strong>: <bdi>{}</bdi>",
                            ((gettext(key), value) for key, value in hasher.safe_summary(encoded).items()))


class SessionInline(admin.TabularInline):
    model = Session
    fields = ("created_at",)
    readonly_fields = ("created_at",)
    extra = 0
    can_delete = True
    show_change_link = False


@admin.register(EndUser)
class EndUserAdmin(PhoneNumberSearch, admin.ModelAdmin):
    list_display = ("username", "object_id", "mobile_phone_number", "mobile_phone_verified", "email", "app", "created_at")
    list_filter = ("app", "mobile_phone_verified", "email_verified")
    search_fields = ("=object_id", "=username", "=mobile_phone_number", "=email")
    search_help_text = "An objectId, a username, an email or a phone number (as typed: 186..., +86 186...)."
    list_select_related = ("app",)
    ordering = ("-id",)
    show_full_result_count = False
    readonly_fields = ("object_id", "password_summary", "created_at", "updated_at")
    fields = ("app", "object_id", "username", "password_summary", "email", "email_verified", "mobile_phone_number",
              "mobile_phone_verified", "custom", "created_at", "updated_at")
    inlines = [SessionInline]
    actions = ["end_sessions"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.display(description="Password")
    def password_summary(self, user):
        """Django's summary of a password (its algorithm, the first characters of its salt and hash), never the hash."""
        return password_summary(user.password)

    def has_add_permission(self, request):
        return False

    @admin.action(description="End every session of the selected users")
    def end_sessions(self, request, queryset):
        ended, _ = Session.objects.filter(user__in=queryset).delete()
        self.message_user(request, f"{ended} session(s) ended.")


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("user", "app", "created_at")
    list_filter = ("user__app",)
    search_fields = ("=user__object_id", "=user__username")
    search_help_text = "The user's objectId or username."
    list_select_related = ("user", "user__app")
    readonly_fields = ("user", "created_at")
    fields = ("user", "created_at")
    show_full_result_count = False
    can_delete = True  # deleting a session ends it

    @admin.display(description="App")
    def app(self, session):
        return session.user.app


@admin.register(HookAttempt)
class HookAttemptAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("created_at", "app", "user", "hook", "attempt", "succeeded", "status_code", "duration_ms", "error")
    list_filter = ("succeeded", "app", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=user__object_id", "=user__username")
    search_help_text = "The user's objectId or username."
    list_select_related = ("app", "user")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in HookAttempt._meta.fields]
    can_delete = True
