"""The billing staff's pages of the accounts admin: the ledger (read-only) and the form that records a
recharge, a gift or an adjustment of one account (`accounts.record_money`). Money is never typed into
a balance: the form calls `money.recharge` / `money.adjust`, which write the ledger entry with it.
"""
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from smsplatform.admin_tools import ReadOnlyAdmin

from .models import Account, LedgerEntry
from .selectors import balances
from .services import money

RECORD_MONEY = "accounts.record_money"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Append-only: a correction is a new entry (an adjustment), never an edit."""

    list_display = ("created_at", "account", "kind", "balance", "gift", "free_sms", "app_name", "message_id", "actor",
                    "reason")
    list_filter = ("kind", "account", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=message_id",)
    search_help_text = "A send record's id."
    date_hierarchy = "created_at"
    list_select_related = ("account", "app", "actor")
    show_full_result_count = False
    fields = readonly_fields = ("created_at", "account", "kind", "balance", "gift", "free_sms", "app_name",
                                "message_id", "actor", "reason")

    @admin.display(description="app", ordering="app__name")
    def app_name(self, entry):
        # The app's name only: its change page (and keys) are not the billing staff's.
        return entry.app.name if entry.app_id else ""


class MoneyForm(forms.Form):
    RECHARGE, GIFT, ADJUSTMENT = "recharge", "gift", "adjustment"
    operation = forms.ChoiceField(choices=[
        (RECHARGE, "Recharge: add the amount to the balance"),
        (GIFT, "Gift: add the amount to the gift balance"),
        (ADJUSTMENT, "Adjustment: correct the balance, gift balance or free SMS up (+) or down (−)"),
    ], widget=forms.RadioSelect, initial=RECHARGE)
    amount = forms.DecimalField(
        max_digits=14, decimal_places=4, required=False,
        help_text="Recharge or gift: a positive amount. Adjustment: the change of the balance, e.g. -12.5 (0: none).")
    gift_change = forms.DecimalField(max_digits=14, decimal_places=4, required=False, initial=Decimal("0"),
                                     help_text="Adjustment only: the change of the gift balance.")
    free_sms_change = forms.IntegerField(required=False, initial=0,
                                         help_text="Adjustment only: the change of the free SMS left.")
    reason = forms.CharField(max_length=255, help_text="Written in the ledger with the entry (a receipt number, a ticket...).")

    def clean(self):
        cleaned = super().clean()
        operation = cleaned.get("operation")
        amount = cleaned.get("amount") or Decimal("0")
        gift = cleaned.get("gift_change") or Decimal("0")
        free = cleaned.get("free_sms_change") or 0
        if operation in (self.RECHARGE, self.GIFT):
            if amount <= 0:
                self.add_error("amount", "A recharge or gift is a positive amount; use an adjustment to take money away.")
            if gift or free:
                self.add_error(None, "The gift and free SMS changes are for adjustments only.")
        elif operation == self.ADJUSTMENT and not (amount or gift or free):
            self.add_error(None, "An adjustment changes at least one of the balance, the gift balance or the free SMS.")
        cleaned["amount"], cleaned["gift_change"], cleaned["free_sms_change"] = amount, gift, free
        return cleaned

    def record(self, *, account: Account, actor):
        """Call the service; a refusal (below zero) becomes the form's error. The new balances, or None."""
        data = self.cleaned_data
        try:
            if data["operation"] == self.ADJUSTMENT:
                return money.adjust(account=account, balance=data["amount"], gift=data["gift_change"],
                                    free_sms=data["free_sms_change"], reason=data["reason"], actor=actor)
            return money.recharge(account=account, amount=data["amount"], gift=data["operation"] == self.GIFT,
                                  reason=data["reason"], actor=actor)
        except ValueError as exc:
            self.add_error(None, str(exc))
            return None


def money_view(model_admin, request, account_id):
    """"Record a recharge or adjustment" of one account."""
    if not request.user.has_perm(RECORD_MONEY):
        raise PermissionDenied
    account = get_object_or_404(Account, pk=account_id)
    form = MoneyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = form.record(account=account, actor=request.user)
        if now is not None:
            messages.success(request, f"Recorded in the ledger. {account.name} now has balance {now.balance}, "
                                      f"gift balance {now.gift_balance}, free SMS {now.free_sms}.")
            return redirect(reverse("admin:accounts_account_change", args=[account.pk]))
    context = {**model_admin.admin_site.each_context(request), "opts": Account._meta, "account": account,
               "title": f"Record a recharge or adjustment: {account.name}", "form": form,
               "balances": balances(account.pk), "original": account}
    return TemplateResponse(request, "admin/accounts/account/money.html", context)
