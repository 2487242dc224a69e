"""What the apps' admin pages share."""
from .phone import InvalidPhoneNumber, normalize_phone


class PhoneNumberSearch:
    """Admin search that finds a number however it is typed (186..., +86 186..., 186 1234 5678)."""

    def get_search_results(self, request, queryset, search_term):
        try:
            search_term = normalize_phone(search_term)
        except InvalidPhoneNumber:
            pass
        return super().get_search_results(request, queryset, search_term)


class ReadOnlyAdmin:
    """Records that only the service writes: staff look, nobody adds or edits them.

    `can_delete` says whether staff may delete them (ending a session, say).
    """

    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.can_delete and super().has_delete_permission(request, obj)
