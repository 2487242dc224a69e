"""The operators' review queue, and signatures and templates, in the admin.

The queue (Reviews) lists what waits, oldest first, with its app and account, its automatic checks
run again now and a template's preview on sample values. Operators approve, or reject with a reason,
one at a time (a review's page) or in bulk (the list's actions; rejecting asks for the reason on a
page of its own). Every decision goes through `services.decide`: recorded, and mailed to the account's
owner. What an operator makes or changes in the admin is approved by them as it is made.
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import App
from smsplatform.errors import LeanCloudError

from . import services
from .models import Review, Signature, Template, TemplateCategory
from .review_checks import review_checks, review_preview


def _checks_html(checks) -> str:
    return format_html(
        '<ul class="review-checks" style="margin:0;padding-left:1.2em">{}</ul>',
        format_html_join("", '<li class="{}">{} {}{}</li>', (
            ("check-ok" if check.ok else "check-failed", "✓" if check.ok else "✗", check.label,
             format_html(": <em>{}</em>", check.detail) if check.detail else "")
            for check in checks)),
    )


class QueueStatusFilter(admin.SimpleListFilter):
    """The queue shows what waits unless asked for the decided ones."""

    title = "status"
    parameter_name = "status"
    DEFAULT = Review.Status.PENDING

    def lookups(self, request, model_admin):
        return [*Review.Status.choices, ("all", "All")]

    def choices(self, changelist):
        chosen = self.value() or self.DEFAULT
        for value, label in self.lookup_choices:
            yield {"selected": chosen == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request, queryset):
        chosen = self.value() or self.DEFAULT
        return queryset if chosen == "all" else queryset.filter(status=chosen)


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=services.MAX_REASON_CHARACTERS,
        help_text="Mailed to the account's owner with the decision.",
    )


class ReviewDecisionForm(forms.ModelForm):
    """A pending review's page decides it: approve, or reject with a reason."""

    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject (say why below)")], widget=forms.RadioSelect,
    )

    class Meta:
        model = Review
        fields = ["decision", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "A rejection needs its reason: the account's owner reads it.")
        if not self.instance.pending:
            raise ValidationError("This review was decided meanwhile.")
        return cleaned


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("submitted", "what", "app_and_account", "preview", "checks_summary", "status", "decided")
    list_display_links = ("submitted", "what")
    list_filter = (QueueStatusFilter, "kind", "submitted_via")
    search_fields = ("subject", "app__name", "=app__app_id", "app__account__name")
    search_help_text = "A signature, a template's name, an app's name or id, an account's name."
    list_select_related = ("app", "app__account", "signature", "template", "template_signature", "decided_by")
    ordering = ("submitted_at", "id")  # oldest first: the queue's order
    list_per_page = 50
    show_full_result_count = False
    actions = ["approve_selected", "reject_selected"]
    form = ReviewDecisionForm
    INFO = ("kind", "subject", "app_link", "account", "submitted_via", "submitted_at", "category", "body",
            "signature_shown", "preview", "checks", "status", "decided_by", "decided_at")

    # --- who may do what: operators see the queue and decide it; nobody adds or deletes reviews.

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request, obj=None):
        return request.user.has_perm("templates_review.decide_review")

    def has_change_permission(self, request, obj=None):
        return self.has_decide_permission(request) and (obj is None or obj.pending)

    def get_fields(self, request, obj=None):
        decides = obj is not None and self.has_change_permission(request, obj)
        return self.INFO + (("decision", "reason") if decides else ("reason",))

    def get_readonly_fields(self, request, obj=None):
        decides = obj is not None and self.has_change_permission(request, obj)
        return self.INFO + (() if decides else ("reason",))

    # --- what the queue shows

    @admin.display(description="submitted", ordering="submitted_at")
    def submitted(self, review):
        return timezone.localtime(review.submitted_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="what", ordering="subject")
    def what(self, review):
        return f"{review.get_kind_display()}: {review.subject}"

    @admin.display(description="app (account)", ordering="app__name")
    def app_and_account(self, review):
        return format_html('{}<br><span class="quiet">{}</span>', review.app.name, review.app.account.name)

    @admin.display(description="app", ordering="app__name")
    def app_link(self, review):
        return f"{review.app.name} ({review.app.app_id})"

    @admin.display(description="account", ordering="app__account__name")
    def account(self, review):
        return review.app.account.name

    @admin.display(description="signature")
    def signature_shown(self, review):
        if review.kind == Review.Kind.SIGNATURE:
            return "—"
        return str(review.template_signature) if review.template_signature else "the app's default"

    @admin.display(description="automatic checks")
    def checks(self, review):
        return _checks_html(review_checks(review))

    @admin.display(description="automatic checks")
    def checks_summary(self, review):
        """The queue's column: how many passed, and what failed (every check is on the review's page)."""
        found = review_checks(review)
        failed = [check for check in found if not check.ok]
        if not failed:
            return format_html('<span class="check-ok" title="{}">✓ all {} passed</span>',
                               "; ".join(check.label for check in found), len(found))
        return format_html('<span class="check-failed">✗ {} of {} failed:</span>{}', len(failed), len(found),
                           _checks_html(failed))

    @admin.display(description="preview (sample values)")
    def preview(self, review):
        return format_html('<span class="review-preview" style="white-space:pre-wrap;display:inline-block;'
                           'max-width:26em">{}</span>', review_preview(review))

    @admin.display(description="decided")
    def decided(self, review):
        if review.decided_at is None:
            return "—"
        by = review.decided_by.get_username() if review.decided_by else "the platform"
        return format_html("{} by {}{}", review.decided_at.strftime("%Y-%m-%d %H:%M"), by,
                           format_html(": {}", review.reason) if review.reason else "")

    # --- deciding

    def save_model(self, request, obj, form, change):
        try:
            services.decide(review=obj, operator=request.user, approve=form.cleaned_data["decision"] == "approve",
                            reason=form.cleaned_data.get("reason") or "")
        except services.NotPending:
            self.message_user(request, f"{obj} was decided meanwhile: nothing changed.", messages.WARNING)

    def save_related(self, request, form, formsets, change):
        pass  # a review has nothing related to save: the decision was the service's

    @admin.action(description="Approve the selected submissions", permissions=["decide"])
    def approve_selected(self, request, queryset):
        decided, skipped = services.decide_many(reviews=list(queryset), operator=request.user, approve=True)
        self._tell(request, "approved", decided, skipped + self._gone(request, queryset))

    @admin.action(description="Reject the selected submissions (asks for the reason)", permissions=["decide"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "reject" in request.POST else None)
        if form.is_valid():
            decided, skipped = services.decide_many(reviews=list(queryset), operator=request.user, approve=False,
                                                    reason=form.cleaned_data["reason"])
            self._tell(request, "rejected", decided, skipped + self._gone(request, queryset))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject: the reason",
            "opts": self.model._meta,
            "form": form,
            "reviews": list(queryset.select_related("app", "app__account")),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "action": "reject_selected",
            "media": self.media,
        }
        return TemplateResponse(request, "admin/templates_review/review/reject.html", context)

    @staticmethod
    def _gone(request, queryset) -> int:
        """How many of the selected left the list meanwhile (another operator decided them)."""
        selected = set(request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME))
        return len(selected) - queryset.filter(pk__in=selected).count() if selected else 0

    def _tell(self, request, verb, decided, skipped):
        self.message_user(request, f"{decided} submission(s) {verb}; the accounts' owners are mailed.")
        if skipped:
            self.message_user(request, f"{skipped} were no longer pending (decided meanwhile, or withdrawn): "
                                       "left as they were.", messages.WARNING)


# --- Signatures and templates, made by operators -----------------------------------------------

class AppChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, app):
        return f"{app.name} ({app.app_id}, {app.account.name})"


def _choose_apps(form) -> None:
    """Apps listed with their id and account (on an add form: a change form shows its app read-only).
    Set up here, not declared: a declared field would stay in the form even when read-only."""
    if "app" in form.fields:
        form.fields["app"] = AppChoiceField(queryset=App.objects.select_related("account"))


class CheckedByTheService(forms.ModelForm):
    """A form whose service checks and saves: the form reads its fields into the instance and leaves
    the model's constraints and uniqueness to the service (a second submission of a name is a
    revision; a default is made so once approved)."""

    def _post_clean(self):
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            self._update_errors(error)


class SignatureForm(CheckedByTheService):
    class Meta:
        model = Signature
        fields = ["app", "text", "is_default"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _choose_apps(self)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("app") is not None:
            try:
                services.check_signature_submission(app=cleaned["app"], text=cleaned.get("text"))
            except LeanCloudError as error:
                raise ValidationError(error.message)
        elif self.instance.pk is not None and self.instance.is_default and not cleaned.get("is_default"):
            self.add_error("is_default", "Make another signature the default instead: an app always has one.")
        elif self.instance.pk is not None and cleaned.get("is_default") and not self.instance.approved:
            self.add_error("is_default", "Only an approved signature can be the default.")
        return cleaned


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ("shown", "app", "account", "status", "is_default", "reason", "updated_at")
    list_filter = ("status", "is_default")
    search_fields = ("text", "app__name", "=app__app_id", "app__account__name")
    list_select_related = ("app", "app__account")
    form = SignatureForm
    actions = ["delete_selected_signatures"]

    def get_fields(self, request, obj=None):
        return ("app", "text", "is_default") if obj is None else ("app", "text", "status", "reason", "is_default")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("app", "text", "status", "reason")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting goes through the service: see delete_selected_signatures
        return actions

    @admin.display(description="signature", ordering="text")
    def shown(self, signature):
        return str(signature)

    @admin.display(description="account", ordering="app__account__name")
    def account(self, signature):
        return signature.app.account.name

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_default or obj.templates.exists()
                                or Review.objects.pending().filter(template_signature=obj).exists()):
            return False  # the default, or a signature a template signs (or asks to sign) with, stays
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            saved, _ = services.submit_signature(app=form.cleaned_data["app"], text=form.cleaned_data["text"],
                                                 make_default=form.cleaned_data["is_default"], operator=request.user)
            obj.pk = saved.pk
            obj.refresh_from_db()
        elif form.cleaned_data["is_default"] and not form.initial.get("is_default"):
            services.make_default_signature(signature=obj)

    def delete_model(self, request, obj):
        services.delete_signature(app=obj.app, text=obj.text)

    @admin.action(description="Delete the selected signatures (not a default, nor one a template signs with)",
                  permissions=["delete"])
    def delete_selected_signatures(self, request, queryset):
        deleted = 0
        for signature in queryset.select_related("app"):
            try:
                services.delete_signature(app=signature.app, text=signature.text)
                deleted += 1
            except LeanCloudError as error:
                self.message_user(request, f"{signature} ({signature.app.name}): {error.message}", messages.WARNING)
        self.message_user(request, f"{deleted} signature(s) deleted.")


class TemplateForm(CheckedByTheService):
    """An operator's template: checked as a developer's is, and approved by them as it is saved."""

    class Meta:
        model = Template
        fields = ["app", "name", "category", "body", "signature"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "cols": 80})}
        help_texts = {"body": "Handlebars, plain variables only: {{code}}, {{ttl}} and {{name}} are the platform's; "
                              "a verification template uses {{code}}, a notification one does not."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _choose_apps(self)
        self.fields["category"] = forms.ChoiceField(choices=TemplateCategory.choices)
        self.fields["body"].required = True
        signatures = Signature.objects.select_related("app")
        if self.instance.pk is not None:
            signatures = signatures.filter(app_id=self.instance.app_id)
            revision = self.instance.reviews.exclude(status=Review.Status.WITHDRAWN).order_by("-submitted_at").first()
            if not self.instance.serving and revision is not None:  # nothing approved yet: start from what waits
                self.initial.update(category=revision.category, body=revision.body,
                                    signature=revision.template_signature_id)
        self.fields["signature"].queryset = signatures
        self.fields["signature"].required = False
        self.fields["signature"].help_text = "Empty: the app's default."

    def clean(self):
        cleaned = super().clean()
        app, signature = cleaned.get("app") or getattr(self.instance, "app", None), cleaned.get("signature")
        if app is None or "body" not in cleaned or "category" not in cleaned:
            return cleaned
        if signature is not None and signature.app_id != app.pk:
            raise ValidationError(f"{signature} is a signature of another app.")
        try:
            services.check_template_submission(app=app, name=cleaned.get("name") or self.instance.name,
                                               category=cleaned["category"], body=cleaned["body"],
                                               signature_text=signature.text if signature else None)
        except LeanCloudError as error:
            raise ValidationError(error.message)
        return cleaned


class TemplateReviewInline(admin.TabularInline):
    model = Review
    fk_name = "template"
    fields = ("submitted_at", "submitted_via", "category", "body", "template_signature", "status", "reason",
              "decided_by", "decided_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "submissions and decisions"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "app", "account", "category", "serving_shown", "signature", "version", "reviewed_by",
                    "reviewed_at", "updated_at")
    list_filter = ("category",)
    search_fields = ("name", "app__name", "=app__app_id", "app__account__name")
    list_select_related = ("app", "app__account", "signature", "reviewed_by")
    form = TemplateForm
    inlines = [TemplateReviewInline]
    actions = ["delete_selected_templates"]

    def get_fields(self, request, obj=None):
        fields = ("app", "name", "category", "body", "signature")
        return fields if obj is None else fields + ("version", "reviewed_by", "reviewed_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("app", "name", "version", "reviewed_by", "reviewed_at")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="account", ordering="app__account__name")
    def account(self, template):
        return template.app.account.name

    @admin.display(description="serving", boolean=True, ordering="version")
    def serving_shown(self, template):
        return template.serving

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved, _ = services.submit_template(
            app=data.get("app") or obj.app, name=data.get("name") or obj.name, category=data["category"],
            body=data["body"], signature_text=data["signature"].text if data.get("signature") else None,
            operator=request.user,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.delete_template(app=obj.app, name=obj.name)

    @admin.action(description="Delete the selected templates", permissions=["delete"])
    def delete_selected_templates(self, request, queryset):
        templates = list(queryset.select_related("app"))
        for template in templates:
            services.delete_template(app=template.app, name=template.name)
        self.message_user(request, f"{len(templates)} template(s) deleted.")

