from django.contrib import admin

from smsplatform.admin_tools import PhoneNumberSearch, ReadOnlyAdmin

from .models import Message


@admin.register(Message)
class MessageAdmin(PhoneNumberSearch, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("created_at", "app", "phone", "channel", "purpose", "status", "carrier", "billed_parts", "attempts")
    list_filter = ("status", "channel", "category", "carrier", "app", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=phone", "=carrier_message_id")
    search_help_text = "A phone number (as typed: 186..., +86 186...) or a carrier message id."
    date_hierarchy = "created_at"
    list_select_related = ("app",)
    show_full_result_count = False
    readonly_fields = [field.name for field in Message._meta.fields]
