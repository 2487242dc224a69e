from django.contrib import admin

from .models import Message
from .phone import InvalidPhoneNumber, normalize_phone


class PhoneNumberSearch:
    """Admin search that finds a number however it is typed (186..., +86 186..., 186 1234 5678)."""

    def get_search_results(self, request, queryset, search_term):
        try:
            search_term = normalize_phone(search_term)
        except InvalidPhoneNumber:
            pass
        return super().get_search_results(request, queryset, search_term)


@admin.register(Message)
class MessageAdmin(PhoneNumberSearch, admin.ModelAdmin):
    list_display = ("created_at", "app", "phone", "channel", "purpose", "status", "carrier", "parts", "attempts")
    list_filter = ("status", "channel", "category", "carrier", "app", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=phone", "=carrier_message_id")
    search_help_text = "A phone number (as typed: 186..., +86 186...) or a carrier message id."
    date_hierarchy = "created_at"
    list_select_related = ("app",)
    show_full_result_count = False
    readonly_fields = [field.name for field in Message._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
