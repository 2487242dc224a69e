"""What the apps' admin pages share, and the admin's login."""
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from .client_ip import limit_key
from .errors import Errors, LeanCloudError
from .limits import IpBudget, Rule, get_limiter, over_ip_budget
from .phone import InvalidPhoneNumber, normalize_phone
from .tokens import digest


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


def admin_login_rules(*, ip: str, username: str) -> list[Rule]:
    """Failed admin logins of one username from one client address: more than ADMIN_LOGIN_FAILURES_ALLOWED
    lock that login until ADMIN_LOGIN_LOCKOUT_SECONDS after the last failure (the right password too).
    Per address, so that nobody locks an operator out from elsewhere; RATELIMIT_ADMIN_LOGIN_PER_IP
    bounds an address's attempts across usernames."""
    return [Rule(f"admin-login:{ip}:{digest(username)}", settings.ADMIN_LOGIN_LOCKOUT_SECONDS,
                 settings.ADMIN_LOGIN_FAILURES_ALLOWED, Errors.LOGIN_LOCKED, anchored=True)]


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form under a lockout (`admin_login_rules`) and a per-IP budget of attempts.

    Each attempt is counted before the password is checked and given back when it is right, so that
    simultaneous guesses cannot slip past the count (as the end users' login lockout)."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed logins: try again in %(minutes)s minutes.",
        "over_budget": "Too many login attempts from your address: try again later.",
    }

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()
        if over_ip_budget(self.request, IpBudget.ADMIN_LOGIN):
            raise ValidationError(self.error_messages["over_budget"], code="over_budget")
        limiter = get_limiter()
        try:
            held = limiter.acquire(admin_login_rules(ip=limit_key(self.request), username=username))
        except LeanCloudError:
            minutes = max(1, settings.ADMIN_LOGIN_LOCKOUT_SECONDS // 60)
            raise ValidationError(self.error_messages["locked"], code="locked", params={"minutes": minutes})
        try:
            cleaned = super().clean()
        except ValidationError:
            raise  # a wrong password (or no staff user) stays counted
        except BaseException:
            limiter.release(held)
            raise
        limiter.release(held)
        return cleaned
