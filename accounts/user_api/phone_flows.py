"""The end-user flows that send or check SMS codes: SMS login, phone sign-up-or-login, phone
verification, password reset by SMS, change of number, and the verification code that sign-up and
update send when the app asks for it.

Each is `accounts`' user services plus `sms.codes`; after a number is verified, the app's onVerified
hook is queued once the verification commits.
"""
import logging
from typing import Callable

from django.db import transaction
from django.utils import timezone

from accounts import selectors
from accounts.models import App, EndUser
from accounts.services import sessions, users
from accounts.tasks import call_on_verified_hook
from sms import codes
from sms.models import Purpose
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.params import non_empty_string

logger = logging.getLogger(__name__)

# What usersByMobilePhone accepts: requestSmsCode's codes (as both SDKs document), and login codes.
SIGN_UP_OR_LOG_IN_PURPOSES = [Purpose.SMS_CODE, Purpose.SIGNUP_OR_LOGIN, Purpose.LOGIN]

# Called before a code is sent on a call that does not depend on sending it (the per-IP SMS budget).
BeforeSending = Callable[[], None]


def _send_verification_quietly(*, app: App, phone: str, validate_token: str | None) -> None:
    """A verification SMS that the call does not depend on: a refusal is logged, not raised."""
    try:
        codes.request_code(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, validate_token=validate_token)
    except LeanCloudError as error:
        logger.warning("No verification code sent to %s for app %s: %s", phone, app.app_id, error)


def _budget_for_verification(app: App, before_sending: BeforeSending):
    def before_save(user: EndUser, changed: set[str]) -> None:
        if users.sends_verification_code(app=app, user=user, changed=changed):
            before_sending()
    return before_save


def sign_up(*, app: App, fields: dict, is_master: bool, validate_token: str | None,
            before_sending: BeforeSending) -> tuple[EndUser, str]:
    """Sign-up; with `verify_phone_on_signup`, a code goes to the new user's number."""
    user, token, changed = users.sign_up(app=app, fields=fields, is_master=is_master,
                                         before_save=_budget_for_verification(app, before_sending))
    if users.sends_verification_code(app=app, user=user, changed=changed):
        _send_verification_quietly(app=app, phone=user.mobile_phone_number, validate_token=validate_token)
    return user, token


def update_user(*, app: App, user: EndUser, fields: dict, is_master: bool, validate_token: str | None,
                before_sending: BeforeSending) -> EndUser:
    """PUT on a user; with `verify_phone_on_signup`, a code goes to a number the user just got."""
    user, changed = users.update_user(app=app, user=user, fields=fields, is_master=is_master,
                                      before_save=_budget_for_verification(app, before_sending))
    if users.sends_verification_code(app=app, user=user, changed=changed):
        _send_verification_quietly(app=app, phone=user.mobile_phone_number, validate_token=validate_token)
    return user


def log_in(*, app: App, login: sessions.LoginRequest, phone: str | None) -> tuple[EndUser, str]:
    """`/login`: username, email or number with a password, or number with an SMS login code."""
    if login.with_sms_code:
        if phone is None:
            raise LeanCloudError(Errors.PHONE_MISSING)
        return log_in_with_sms_code(app=app, phone=phone, code=login.sms_code)
    return sessions.log_in_with_password(app=app, login=login, phone=phone)


def log_in_with_sms_code(*, app: App, phone: str, code) -> tuple[EndUser, str]:
    if not app.sms_login_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)
    user = _user_with_phone(app=app, phone=phone)
    if not user.mobile_phone_verified:
        raise LeanCloudError(Errors.PHONE_NOT_VERIFIED)
    sessions.guard_login(app=app, user=user, check=lambda: codes.verify_code(
        app=app, phone=phone, purpose=Purpose.LOGIN, code=code))
    return user, sessions.new_session(user)


def sign_up_or_log_in_with_phone(*, app: App, phone: str, code, fields: dict) -> tuple[EndUser, str]:
    """`usersByMobilePhone`: log in the number's user, or make one with a verified number.

    `username`, `password` and other fields count only when a user is made. The code proves the
    number: an existing user's unverified number becomes verified, and what its unproven claimant
    set up ends (`_take_back_with_proven_number`).
    """
    user = selectors.user_by_phone(app=app, phone=phone)

    def verify():
        codes.verify_code_for_any(app=app, phone=phone, purposes=SIGN_UP_OR_LOG_IN_PURPOSES, code=code)

    if user is not None:
        sessions.guard_login(app=app, user=user, check=verify)
        if not user.mobile_phone_verified:
            user = _take_back_with_proven_number(app=app, user=user, phone=phone)
        return user, sessions.new_session(user)
    verify()
    user = EndUser(app=app, username=phone, custom={})
    rest = {key: value for key, value in fields.items() if key not in ("mobilePhoneNumber", "password", "username")}
    users.assign(user, rest, is_master=False)
    user.username = users.username_from(fields["username"]) if non_empty_string(fields.get("username")) else phone
    user.set_password(non_empty_string(fields.get("password")))
    user.mobile_phone_number, user.mobile_phone_verified = phone, True
    with transaction.atomic():
        users.save_unique(user)
        token = sessions.new_session(user)
        _queue_on_verified(app=app, user=user)
    return user, token


def _take_back_with_proven_number(*, app: App, user: EndUser, phone: str) -> EndUser:
    """A code proved a number that its user had not verified: whoever set the account up with it
    (a password, sessions) never proved it, and may be someone else (pre-hijacking). The number is
    verified, and that claimant's password and every session end (the caller gets a new session)."""
    with transaction.atomic():
        sessions.set_password(app=app, user=user, password=None)
        return _mark_phone_verified(app=app, user=user, phone=phone)


def _user_with_phone(*, app: App, phone: str) -> EndUser:
    user = selectors.user_by_phone(app=app, phone=phone)
    if user is None:
        raise LeanCloudError(Errors.PHONE_USER_NOT_FOUND)
    return user


def request_phone_verification(*, app: App, phone: str, validate_token: str | None = None) -> None:
    """Send a verification code to a user's number, unless it is verified already."""
    user = _user_with_phone(app=app, phone=phone)
    if user.mobile_phone_verified:
        return
    codes.request_code(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, validate_token=validate_token)


def verify_phone(*, app: App, code, phone: str | None = None, prefer_phone: str | None = None) -> EndUser:
    """Mark a number verified by its code. Without the number, the code tells it (JS SDK), the
    logged-in caller's number (`prefer_phone`) first."""
    if phone is not None:
        user = _user_with_phone(app=app, phone=phone)
        codes.verify_code(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, code=code)
    else:
        phone = codes.verify_code_without_number(app=app, purpose=Purpose.VERIFY_PHONE, code=code,
                                                 prefer_phone=prefer_phone)
        user = _user_with_phone(app=app, phone=phone)
    return _mark_phone_verified(app=app, user=user, phone=phone)


def _mark_phone_verified(*, app: App, user: EndUser, phone: str) -> EndUser:
    with transaction.atomic():
        now = timezone.now()
        mine = EndUser.objects.filter(pk=user.pk, mobile_phone_number=phone)
        if mine.filter(mobile_phone_verified=False).update(mobile_phone_verified=True, updated_at=now):
            user.mobile_phone_verified, user.updated_at = True, now
            _queue_on_verified(app=app, user=user)
        elif not mine.exists():
            raise LeanCloudError(Errors.PHONE_USER_NOT_FOUND)
    return user


def request_login_code(*, app: App, phone: str, validate_token: str | None = None) -> None:
    if not app.sms_login_enabled:
        raise LeanCloudError(Errors.OPERATION_FORBIDDEN)
    user = _user_with_phone(app=app, phone=phone)
    if not user.mobile_phone_verified:
        raise LeanCloudError(Errors.PHONE_NOT_VERIFIED)
    codes.request_code(app=app, phone=phone, purpose=Purpose.LOGIN, validate_token=validate_token)


def _check_reset_allowed(*, app: App, user: EndUser) -> None:
    if not user.mobile_phone_verified and not app.reset_password_unverified_allowed:
        raise LeanCloudError(Errors.PHONE_NOT_VERIFIED)


def request_password_reset_code(*, app: App, phone: str, validate_token: str | None = None) -> None:
    user = _user_with_phone(app=app, phone=phone)
    _check_reset_allowed(app=app, user=user)
    codes.request_code(app=app, phone=phone, purpose=Purpose.RESET_PASSWORD, validate_token=validate_token)


def reset_password_with_code(*, app: App, code, password, phone: str | None = None,
                             prefer_phone: str | None = None) -> EndUser:
    """Set a new password with a reset code (every session of the user ends, and so does a lockout).
    Without the number, the code tells it (JS SDK), the logged-in caller's number (`prefer_phone`) first."""
    password = non_empty_string(password)
    if password is None:
        raise LeanCloudError(Errors.PASSWORD_MISSING)
    if phone is not None:
        user = _user_with_phone(app=app, phone=phone)
        _check_reset_allowed(app=app, user=user)
        codes.verify_code(app=app, phone=phone, purpose=Purpose.RESET_PASSWORD, code=code)
    else:
        phone = codes.verify_code_without_number(app=app, purpose=Purpose.RESET_PASSWORD, code=code,
                                                 prefer_phone=prefer_phone)
        user = _user_with_phone(app=app, phone=phone)
        _check_reset_allowed(app=app, user=user)
    sessions.set_password(app=app, user=user, password=password)
    return user


def _check_phone_free(*, app: App, user: EndUser, phone: str) -> None:
    holder = selectors.user_by_phone(app=app, phone=phone)
    if holder is not None and holder.pk != user.pk:
        raise LeanCloudError(Errors.PHONE_TAKEN)


def request_phone_change_code(*, app: App, user: EndUser, phone: str, ttl_minutes: int,
                              validate_token: str | None = None) -> None:
    """Send a change-of-number code to the number a logged-in user wants."""
    _check_phone_free(app=app, user=user, phone=phone)
    codes.request_code(app=app, phone=phone, purpose=Purpose.CHANGE_PHONE, ttl_minutes=ttl_minutes,
                       validate_token=validate_token)


def change_phone(*, app: App, user: EndUser, phone: str, code) -> EndUser:
    """Give a logged-in user the number a change-of-number code went to, verified."""
    _check_phone_free(app=app, user=user, phone=phone)
    codes.verify_code(app=app, phone=phone, purpose=Purpose.CHANGE_PHONE, code=code)
    with transaction.atomic():
        user = EndUser.objects.select_for_update().get(pk=user.pk)
        user.mobile_phone_number, user.mobile_phone_verified = phone, True
        user.updated_at = timezone.now()
        users.save_unique(user)
        _queue_on_verified(app=app, user=user)
    return user


def _queue_on_verified(*, app: App, user: EndUser) -> None:
    """Once the verification commits, call the app's engine with the user as it is now."""
    if not app.engine_url:
        return
    user_id, shown = user.pk, user.as_leancloud()
    transaction.on_commit(lambda: call_on_verified_hook.delay(user_id, shown))
