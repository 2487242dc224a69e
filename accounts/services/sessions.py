"""Sessions, password login, the failed-login lockout, and every change of a password."""
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone

from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import Rule, get_limiter
from smsplatform.params import non_empty_string
from smsplatform.tokens import digest, new_session_token

from .. import selectors
from ..models import App, EndUser, Session

LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
LOGIN_FAILURES_ALLOWED = 6


def login_failure_rules(*, app: App, user_id: int) -> list[Rule]:
    """Failed logins of one end user: more than 6 in 15 minutes lock the user out (219) until 15
    minutes after the last failure.

    Every attempt is counted before the credentials are checked and given back when they are right,
    so that simultaneous guesses cannot slip past the count.
    """
    return [Rule(
        f"app:{app.id}:user:{user_id}:login-failures", LOGIN_FAILURE_WINDOW_SECONDS,
        LOGIN_FAILURES_ALLOWED + 1, Errors.LOGIN_LOCKED, anchored=True,
    )]


def guard_login(*, app: App, user: EndUser, check) -> None:
    """Run `check` (which raises a LeanCloudError on wrong credentials) under the user's lockout (219).

    Wrong credentials stay counted; right ones, and failures for other reasons, are given back.
    """
    limiter = get_limiter()
    with limiter.holding(login_failure_rules(app=app, user_id=user.id), keep_on=(LeanCloudError,)) as held:
        check()
    limiter.release(held)


def new_session(user: EndUser) -> str:
    """Open a session for `user`: its token (only the token's digest is stored)."""
    token = new_session_token()
    Session.objects.create(user=user, token_hash=digest(token))
    return token


def end_sessions(user: EndUser) -> None:
    Session.objects.filter(user=user).delete()


def refresh_session_token(*, user: EndUser) -> str:
    """End every session of the user and open one: its token."""
    with transaction.atomic():
        end_sessions(user)
        return new_session(user)


@dataclass(frozen=True)
class LoginRequest:
    """What a `/login` call gives: which credentials decides how the user is found."""

    username: str | None = None
    email: str | None = None
    password: str | None = None
    sms_code: str | None = None

    @property
    def with_sms_code(self) -> bool:
        return self.sms_code is not None and self.password is None

    @property
    def by_phone(self) -> bool:
        """The user is found by `mobilePhoneNumber` (with an SMS code, or with neither username nor email)."""
        return self.with_sms_code or (self.username is None and self.email is None)


def require_password(user: EndUser, raw: str) -> None:
    """210 unless `raw` is the user's password; an outdated hash (an imported one) is upgraded."""
    def upgrade(password):
        user.set_password(password)
        EndUser.objects.filter(pk=user.pk).update(password=user.password)

    if not check_password(raw, user.password, setter=upgrade):
        raise LeanCloudError(Errors.PASSWORD_MISMATCH)


def log_in_with_password(*, app: App, login: LoginRequest, phone: str | None) -> tuple[EndUser, str]:
    """`/login` with a password: by username, email or number (E.164 `phone`)."""
    if login.by_phone and phone is None:
        raise LeanCloudError(Errors.USERNAME_MISSING)
    if login.password is None:
        raise LeanCloudError(Errors.PASSWORD_MISSING)
    if login.username is not None:
        user = selectors.user_by_username(app=app, username=login.username)
    elif login.email is not None:
        user = selectors.user_by_email(app=app, email=login.email)
    else:
        user = selectors.user_by_phone(app=app, phone=phone)
    if user is None:
        raise LeanCloudError(Errors.PHONE_USER_NOT_FOUND if login.by_phone else Errors.USER_NOT_FOUND)
    guard_login(app=app, user=user, check=lambda: require_password(user, login.password))
    if login.by_phone and app.login_requires_verified_phone and not user.mobile_phone_verified:
        raise LeanCloudError(Errors.PHONE_NOT_VERIFIED)
    return user, new_session(user)


def set_password(*, app: App, user: EndUser, password: str | None) -> None:
    """Give `user` a new password (None: none, SMS login only), with every consequence: every session
    ends, a lockout is lifted."""
    with transaction.atomic():
        user.set_password(password)
        user.updated_at = timezone.now()
        user.save(update_fields=["password", "updated_at"])
        end_sessions(user)
    get_limiter().forget(login_failure_rules(app=app, user_id=user.id))


def update_password(*, app: App, user: EndUser, old_password, new_password) -> str:
    """Change the password given the old one; a new session opens: its token."""
    new_password = non_empty_string(new_password)
    if new_password is None:
        raise LeanCloudError(Errors.PASSWORD_MISSING)
    old_password = non_empty_string(old_password) or ""
    guard_login(app=app, user=user, check=lambda: require_password(user, old_password))
    set_password(app=app, user=user, password=new_password)
    return new_session(user)
