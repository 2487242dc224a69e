"""The SMS admin: send records (read-only, with their parts, attempts and receipts), carriers (secrets
write-only; SMS_CARRIERS' rows read-only) with their live figures, routes (ordered carriers). The
billing staff's pages (the records' CSV and extra filters, prices, statements, the chart) are in
`billing_admin.py`."""
import json

from django import forms
from django.contrib import admin, messages
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from smsplatform.admin_tools import PhoneNumberSearch, ReadOnlyAdmin

from . import billing_admin, carrier_figures
from .carriers import KINDS
from .carriers.registry import get_registry
from .models import Carrier, DeliveryAttempt, Message, MessagePart, Receipt, Route, RouteCarrier


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessagePartInline(ReadOnlyInline):
    model = MessagePart
    fields = readonly_fields = ("part_number", "carrier", "carrier_message_id", "status")
    ordering = ("part_number",)
    verbose_name_plural = "Parts (the carrier's id of each)"


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = readonly_fields = ("started_at", "finished_at", "carrier", "outcome", "error_code", "error")
    ordering = ("started_at", "id")
    verbose_name_plural = "Attempts, in order"


class ReceiptInline(ReadOnlyInline):
    model = Receipt
    fk_name = "message"
    fields = readonly_fields = ("received_at", "carrier", "carrier_message_id", "delivered", "error_code", "state",
                                "delay_ms", "raw")
    ordering = ("received_at", "id")
    verbose_name_plural = "Receipts, in order"


@admin.register(Message)
class MessageAdmin(PhoneNumberSearch, ReadOnlyAdmin, admin.ModelAdmin):
    # Narrow enough that the status column shows without horizontal scrolling at 1,366 px, beside the
    # filters (tests/sms/test_admin_browser.py): short dates, the app's name cut short, no purpose column.
    list_display = ("created", "app_name", "phone", "channel", "status", "carrier", "parts")
    list_filter = ("status", "channel", "category", "app__account", "app", billing_admin.DateRangeFilter,
                   ("created_at", admin.DateFieldListFilter), billing_admin.CountryFilter, "carrier")
    search_fields = ("=phone", "=carrier_message_id")
    search_help_text = "A phone number (as typed: 186..., +86 186...) or a carrier message id."
    date_hierarchy = "created_at"
    list_select_related = ("app",)
    show_full_result_count = False
    # The text is the masked one (the code never reaches the database in clear); `sealed` is never shown.
    readonly_fields = [field.name for field in Message._meta.fields if field.name != "sealed"]
    inlines = [MessagePartInline, DeliveryAttemptInline, ReceiptInline]
    # "Export CSV" (the list as filtered), "Statements" and "Chart" above the list.
    change_list_template = "admin/sms/message/change_list.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(lambda request: billing_admin.export_view(self, request)), name="sms_message_export"),
            path("statements/", wrap(lambda request: billing_admin.statements_index_view(self, request)),
                 name="sms_billing_statements"),
            path("statements/<int:account_id>/",
                 wrap(lambda request, account_id: billing_admin.statement_view(self, request, account_id)),
                 name="sms_billing_statement"),
            path("chart/", wrap(lambda request: billing_admin.chart_view(self, request)), name="sms_billing_chart"),
        ] + super().get_urls()

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="app", ordering="app__name")
    def app_name(self, obj):
        name = obj.app.name
        return name if len(name) <= 14 else name[:13] + "…"

    @admin.display(description="parts", ordering="billed_parts")
    def parts(self, obj):
        return obj.billed_parts


class CarrierForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(kind, kind) for kind in KINDS])
    secret = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Password, auth token or AccessKey secret. Write-only: leave empty to keep the current one.",
    )
    params = forms.JSONField(required=False, initial=dict,
                             help_text='A JSON object, e.g. {"host": "smsc.example.com", "port": "2775", "window": "10"}.')

    class Meta:
        model = Carrier
        fields = ("name", "kind", "enabled", "username", "secret", "params")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret_sealed:
            self.fields["secret"].help_text = (f"Now {self.instance.secret_hint}. Write-only: leave empty to keep it, "
                                               "or type a new one.")
        if self.instance.pk:
            # Secret params (a callback token) are shown as their hint; left as it is, the hint keeps them.
            self.initial["params"] = self.instance.params_shown()

    def clean_params(self):
        params = dict(self.cleaned_data.get("params") or {})
        if self.instance.pk:
            shown, stored = self.instance.params_shown(), self.instance.params or {}
            for name in self.instance.secret_params():
                if name in params and name in stored and params[name] == shown.get(name):
                    params[name] = stored[name]
        return params

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("secret"):
            self.instance.secret = cleaned["secret"]  # checked with the row by the adapter (model clean)
        return cleaned


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    form = CarrierForm
    list_display = ("name", "kind", "enabled", "source", "secret_shown", "figures_1h")
    list_filter = ("kind", "enabled", "from_settings")
    actions = ("enable", "disable")
    readonly_fields = ("secret_shown", "source", "figures", "live_state", "callback", "updated_at", "params_shown")
    fieldsets = ((None, {"fields": ("name", "kind", "enabled", "username", "secret", "params")}),
                 ("Now", {"fields": ("source", "secret_shown", "figures", "live_state", "callback", "updated_at")}))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.from_settings:  # SMS_CARRIERS rewrites it at every start
            return ("name", "kind", "enabled", "username", *self.readonly_fields)
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.from_settings:
            return ((None, {"fields": ("name", "kind", "enabled", "username", "params_shown")}),) + self.fieldsets[1:]
        if obj is None:
            return self.fieldsets[:1]
        return self.fieldsets

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.from_settings)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj)

    @admin.display(description="params")
    def params_shown(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.params_shown(), indent=1, ensure_ascii=False))

    @admin.display(description="secret")
    def secret_shown(self, obj):
        return obj.secret_hint or "—"

    @admin.display(description="source")
    def source(self, obj):
        return "set by SMS_CARRIERS" if obj.from_settings else "admin"

    @admin.display(description="last hour")
    def figures_1h(self, obj):
        return carrier_figures.summary(carrier_figures.figures(obj.id, carrier_figures.WINDOWS["1 h"]))

    @admin.display(description="figures")
    def figures(self, obj):
        rows = []
        for label, window in carrier_figures.WINDOWS.items():
            f = carrier_figures.figures(obj.id, window)
            rows.append((label, f["sent"], f["delivered"], f["failed"], f["refused"],
                         "–" if f["rate"] is None else f"{f['rate']:.1%}",
                         "–" if f["median_delay_ms"] is None else f"{f['median_delay_ms'] / 1000:.2f} s"))
        return format_html(
            "<table><tr><th></th><th>sent</th><th>delivered</th><th>failed</th><th>refused at submit</th>"
            "<th>delivery rate</th><th>median receipt delay</th></tr>{}</table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows),
        )

    @admin.display(description="live state (this process)")
    def live_state(self, obj):
        adapter = get_registry().held_adapter(obj.id)
        if adapter is None:
            return "this server process holds no adapter of this carrier (the Celery workers' delivery loops do)"
        try:
            return format_html("<pre>{}</pre>", json.dumps(adapter.live_state(), indent=1, default=str))
        except Exception as exc:  # noqa: BLE001
            return f"unavailable: {exc}"

    @admin.display(description="callback URL")
    def callback(self, obj):
        from .callbacks import callback_path, callback_url

        return callback_url(obj.name) or f"{callback_path(obj.name)} (set SMS_CALLBACK_BASE_URL)"

    @admin.action(description="Enable selected carriers")
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected carriers")
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset, enabled):
        skipped = queryset.filter(from_settings=True).count()
        for carrier in queryset.filter(from_settings=False):
            carrier.enabled = enabled
            carrier.save(update_fields=["enabled", "updated_at"])
        if skipped:
            self.message_user(request, f"{skipped} carrier(s) set by SMS_CARRIERS left as they are.", messages.WARNING)


class RouteCarrierInline(admin.TabularInline):
    model = RouteCarrier
    extra = 1
    fields = ("position", "carrier")
    ordering = ("position", "id")
    verbose_name_plural = "Carriers, tried in this order (failover: the next one when a carrier fails the call)"


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ("__str__", "country_code", "channel", "position", "enabled", "strategy", "carrier_order")
    list_editable = ("position", "enabled")
    list_filter = ("channel", "enabled", "strategy")
    inlines = [RouteCarrierInline]
    fields = ("country_code", "channel", "position", "enabled", "strategy")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("route_carriers__carrier")

    @admin.display(description="carriers")
    def carrier_order(self, obj):
        return " → ".join(rc.carrier.name for rc in sorted(obj.route_carriers.all(), key=lambda rc: (rc.position, rc.id)))
