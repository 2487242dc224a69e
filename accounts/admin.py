from django.contrib import admin

from .models import Account, App


class AppInline(admin.TabularInline):
    model = App
    fields = ("name", "app_id", "created_at")
    readonly_fields = ("name", "app_id", "created_at")
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "balance", "gift_balance", "free_sms_remaining", "created_at")
    search_fields = ("name", "email")
    readonly_fields = ("created_at",)
    inlines = [AppInline]


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
        ("SMS", {"fields": ("sms_code_service_enabled", "international_sms_enabled", "sms_signature", "timezone")}),
        ("Test number", {"fields": ("test_phone_number", "test_phone_code")}),
        ("Per-number limits", {"fields": (
            "limit_interval_seconds", "limit_per_minute", "limit_verification_per_24h",
            "limit_voice_per_30s", "limit_voice_per_hour", "limit_voice_per_day",
        )}),
        ("End-user accounts", {"fields": (
            "verify_phone_on_signup", "login_requires_verified_phone",
            "reset_password_unverified_allowed", "sms_login_enabled",
        )}),
        ("Captcha", {"fields": ("captcha_enabled", "force_captcha")}),
        ("Cloud engine", {"fields": ("engine_url",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Keys are made with the app (blank ones are generated) and shown, not edited, afterwards.
        return ("created_at", "updated_at") + (self.KEYS if obj else ())

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:-1]
        return self.fieldsets
