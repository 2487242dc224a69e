from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from smsplatform.admin_tools import ReadOnlyAdmin

from .models import AppCaptchaUsage, CaptchaChallenge
from .selectors import with_captcha_counts


class PeriodFilter(admin.SimpleListFilter):
    """Chooses the period the counts cover; every app stays listed (see `CaptchaUsageAdmin.get_queryset`)."""

    title = "challenges issued"
    parameter_name = "period"
    PERIODS = {
        "24h": ("in the last 24 hours", timedelta(hours=24)),
        "7d": ("in the last 7 days", timedelta(days=7)),
        "30d": ("in the last 30 days", timedelta(days=30)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.PERIODS.items()]

    def queryset(self, request, queryset):
        return queryset

    @classmethod
    def since(cls, request):
        period = cls.PERIODS.get(request.GET.get(cls.parameter_name))
        return timezone.now() - period[1] if period else None


@admin.register(AppCaptchaUsage)
class CaptchaUsageAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Per app: challenges issued, solved, failed (a wrong answer), unanswered, and validate tokens used."""

    list_display = (
        "app", "app_id", "captcha_enabled", "force_captcha",
        "issued", "solved", "failed", "unanswered", "tokens_used", "failure_rate",
    )
    list_display_links = None
    list_filter = (PeriodFilter, "captcha_enabled", "force_captcha")
    search_fields = ("name", "app_id")

    def get_queryset(self, request):
        # Not super()'s: it orders before the counts it would order by exist; the change list orders.
        return with_captcha_counts(self.model._default_manager.all(), since=PeriodFilter.since(request))

    def get_ordering(self, request):
        return ("-captcha_issued", "id")  # busiest first (an annotation: `ordering` takes fields only)

    @admin.display(description="app", ordering="name")
    def app(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_app_change", args=[obj.pk]), obj.name)

    @admin.display(description="issued", ordering="captcha_issued")
    def issued(self, obj):
        return obj.captcha_issued

    @admin.display(description="solved", ordering="captcha_solved")
    def solved(self, obj):
        return obj.captcha_solved

    @admin.display(description="failed", ordering="captcha_failed")
    def failed(self, obj):
        return obj.captcha_failed

    @admin.display(description="unanswered", ordering="captcha_unanswered")
    def unanswered(self, obj):
        return obj.captcha_unanswered

    @admin.display(description="validate tokens used", ordering="captcha_redeemed")
    def tokens_used(self, obj):
        return obj.captcha_redeemed

    @admin.display(description="failed / answered")
    def failure_rate(self, obj):
        answered = obj.captcha_solved + obj.captcha_failed
        return f"{obj.captcha_failed / answered:.0%}" if answered else "-"


@admin.register(CaptchaChallenge)
class CaptchaChallengeAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("created_at", "app", "status", "width", "height", "expires_at", "answered_at", "redeemed_at")
    list_filter = ("status", "app", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    list_select_related = ("app",)
    show_full_result_count = False
    # Neither the answer (in the store) nor the token digests are shown.
    fields = readonly_fields = (
        "app", "status", "width", "height", "created_at", "expires_at", "answered_at",
        "validate_token_expires_at", "redeemed_at",
    )
