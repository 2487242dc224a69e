import json
import logging
import time
from dataclasses import dataclass, field

import requests
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from sms import services as sms_services
from sms.limits import get_limiter, login_failure_rules
from sms.models import Purpose
from sms.phone import phone_from_param
from smsplatform.errors import ErrorCode, LeanCloudError

from . import selectors
from .importing import BadRow, ExportRow, user_from_export
from .models import Account, App, EndUser, HookAttempt, Session, hash_session_token, new_session_token

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_NAME = "default"


@transaction.atomic
def create_app(*, name: str, account: Account | None = None, app_id: str = "", app_key: str = "",
               master_key: str = "") -> App:
    """A new app with the given keys, or freshly generated ones where none is given."""
    if account is None:
        account, _ = Account.objects.get_or_create(name=DEFAULT_ACCOUNT_NAME)
    app = App(account=account, name=name, app_id=app_id, app_key=app_key, master_key=master_key)
    app.fill_missing_keys()
    app.full_clean()
    app.save()
    return app


def _coerce(field: models.Field, raw: str):
    if isinstance(field, models.BooleanField):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValidationError({field.name: f"{raw!r} is not true or false."})
    try:
        return field.to_python(raw)
    except ValidationError as exc:
        raise ValidationError({field.name: exc.messages})


@transaction.atomic
def update_app_settings(*, app: App, changes: dict[str, str]) -> App:
    """Set the named settings from their text form; unknown names and bad values change nothing."""
    unknown = sorted(set(changes) - set(App.SETTINGS))
    if unknown:
        raise ValidationError(f"Unknown setting(s): {', '.join(unknown)}. Settings: {', '.join(App.SETTINGS)}.")
    for name, raw in changes.items():
        setattr(app, name, _coerce(App._meta.get_field(name), raw))
    app.full_clean()
    app.save()
    return app


# --- End users ----------------------------------------------------------------------------------

# Keys of a `_User` body that are never stored among its custom fields.
NOT_STORED = {"objectId", "createdAt", "updatedAt", "sessionToken", "smsCode", "validate_token", "salt",
              "className", "__type"}
# What usersByMobilePhone accepts: requestSmsCode's codes (as both SDKs document), and login codes.
SIGN_UP_OR_LOG_IN_PURPOSES = [Purpose.SMS_CODE, Purpose.SIGNUP_OR_LOGIN, Purpose.LOGIN]
_DELETE = object()


def _text(value) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value != "" else None


def _is_delete(value) -> bool:
    return value is None or value == "" or (isinstance(value, dict) and value.get("__op") == "Delete")


def _apply_operation(current, value):
    """A field's new value: `value` itself, or what LeanCloud's `{"__op": ...}` makes of `current`."""
    if not (isinstance(value, dict) and "__op" in value):
        return value
    op = value["__op"]
    if op == "Delete":
        return _DELETE
    if op in ("Increment", "Decrement"):
        amount = value.get("amount", 1)
        if not isinstance(amount, (int, float)) or isinstance(amount, bool):
            raise LeanCloudError(ErrorCode.INTERNAL, "The amount of an Increment must be a number.")
        base = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
        return base + amount if op == "Increment" else base - amount
    if op in ("Add", "AddUnique", "Remove"):
        objects = value.get("objects")
        if not isinstance(objects, list):
            raise LeanCloudError(ErrorCode.INTERNAL, f"{op} needs a list of objects.")
        base = list(current) if isinstance(current, list) else []
        if op == "Add":
            return base + objects
        if op == "AddUnique":
            return base + [item for item in objects if item not in base]
        return [item for item in base if item not in objects]
    raise LeanCloudError(ErrorCode.INTERNAL, f"Unsupported operation {op!r}.")


def _assign(user: EndUser, fields: dict, *, is_master: bool) -> set[str]:
    """Apply a `_User` body to `user` (not saved); the built-in fields that changed."""
    changed = set()
    custom = dict(user.custom)
    for key, value in fields.items():
        if key in NOT_STORED or key.startswith("_"):
            continue
        if key == "username":
            username = _text(value)
            if username is None:
                raise LeanCloudError(ErrorCode.USERNAME_MISSING)
            if username != user.username:
                user.username = username
                changed.add(key)
        elif key == "password":
            password = _text(value)
            if password is None:
                raise LeanCloudError(ErrorCode.PASSWORD_MISSING)
            user.set_password(password)
            changed.add(key)
        elif key == "email":
            if not (_is_delete(value) or isinstance(value, str)):
                raise LeanCloudError(ErrorCode.INTERNAL, "email must be a string.")
            email = "" if _is_delete(value) else value
            if email != user.email:
                user.email, user.email_verified = email, False
                changed.add(key)
        elif key == "mobilePhoneNumber":
            phone = "" if _is_delete(value) else phone_from_param(value)
            if phone != user.mobile_phone_number:
                user.mobile_phone_number, user.mobile_phone_verified = phone, False
                changed.add(key)
        elif key in ("emailVerified", "mobilePhoneVerified"):
            if is_master:
                setattr(user, "email_verified" if key == "emailVerified" else "mobile_phone_verified", value is True)
                changed.add(key)
        else:
            new = _apply_operation(custom.get(key), value)
            if new is _DELETE:
                custom.pop(key, None)
            else:
                custom[key] = new
    user.custom = custom
    # A flag cannot claim what is not there.
    user.email_verified = user.email_verified and bool(user.email)
    user.mobile_phone_verified = user.mobile_phone_verified and bool(user.mobile_phone_number)
    return changed


def _conflict(user: EndUser) -> LeanCloudError | None:
    others = EndUser.objects.filter(app_id=user.app_id).exclude(pk=user.pk)
    if others.filter(username=user.username).exists():
        return LeanCloudError(ErrorCode.USERNAME_TAKEN)
    if user.email and others.filter(email=user.email).exists():
        return LeanCloudError(ErrorCode.EMAIL_TAKEN)
    if user.mobile_phone_number and others.filter(mobile_phone_number=user.mobile_phone_number).exists():
        return LeanCloudError(ErrorCode.PHONE_TAKEN)
    return None


def _save_unique(user: EndUser) -> None:
    """Save; a username, email or number another user of the app has is 202, 203 or 214."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        error = _conflict(user)
        if error is None:
            raise
        raise error


def _new_session(user: EndUser) -> str:
    token = new_session_token()
    Session.objects.create(user=user, token_hash=hash_session_token(token))
    return token


def _end_sessions(user: EndUser) -> None:
    Session.objects.filter(user=user).delete()


def _send_code_quietly(*, app: App, phone: str, purpose: str, validate_token: str | None) -> None:
    """A verification SMS that the call does not depend on: a refusal is logged, not raised."""
    try:
        sms_services.request_code(app=app, phone=phone, purpose=purpose, validate_token=validate_token)
    except LeanCloudError as error:
        logger.warning("No %s code sent to %s for app %s: %s", purpose, phone, app.app_id, error)


def _guard_login(*, app: App, user: EndUser, check) -> None:
    """Run `check` (which raises on wrong credentials) under the user's failed-login lockout (219)."""
    limiter = get_limiter()
    reservation = limiter.acquire(login_failure_rules(app=app, user_id=user.id))
    try:
        check()
    except LeanCloudError:
        raise  # wrong credentials: the attempt stays counted
    except BaseException:
        limiter.release(reservation)
        raise
    limiter.release(reservation)


def _require_password(user: EndUser, raw: str) -> None:
    def upgrade(password):
        user.set_password(password)
        EndUser.objects.filter(pk=user.pk).update(password=user.password)

    if not check_password(raw, user.password, setter=upgrade):
        raise LeanCloudError(ErrorCode.PASSWORD_MISMATCH)


def sign_up(*, app: App, fields: dict, is_master: bool = False,
            validate_token: str | None = None) -> tuple[EndUser, str]:
    """A new user from a sign-up body, logged in: (user, session token)."""
    if _text(fields.get("username")) is None:
        raise LeanCloudError(ErrorCode.USERNAME_MISSING)
    if _text(fields.get("password")) is None:
        raise LeanCloudError(ErrorCode.PASSWORD_MISSING)
    user = EndUser(app=app, custom={})
    _assign(user, fields, is_master=is_master)
    with transaction.atomic():
        _save_unique(user)
        token = _new_session(user)
    if user.mobile_phone_number and not user.mobile_phone_verified and app.verify_phone_on_signup:
        _send_code_quietly(app=app, phone=user.mobile_phone_number, purpose=Purpose.VERIFY_PHONE,
                           validate_token=validate_token)
    return user, token


def log_in(*, app: App, username: str | None = None, email: str | None = None, phone: str | None = None,
           password: str | None = None, sms_code: str | None = None) -> tuple[EndUser, str]:
    """`/login`: username, email or number with a password, or number with an SMS login code."""
    if sms_code is not None and password is None:
        if phone is None:
            raise LeanCloudError(ErrorCode.PHONE_MISSING)
        return log_in_with_sms_code(app=app, phone=phone, code=sms_code)
    if username is None and email is None and phone is None:
        raise LeanCloudError(ErrorCode.USERNAME_MISSING)
    if password is None:
        raise LeanCloudError(ErrorCode.PASSWORD_MISSING)
    by_phone = username is None and email is None
    if username is not None:
        user = selectors.user_by_username(app=app, username=username)
    elif email is not None:
        user = selectors.user_by_email(app=app, email=email)
    else:
        user = selectors.user_by_phone(app=app, phone=phone)
    if user is None:
        raise LeanCloudError(ErrorCode.PHONE_USER_NOT_FOUND if by_phone else ErrorCode.USER_NOT_FOUND)
    _guard_login(app=app, user=user, check=lambda: _require_password(user, password))
    if by_phone and app.login_requires_verified_phone and not user.mobile_phone_verified:
        raise LeanCloudError(ErrorCode.PHONE_NOT_VERIFIED)
    return user, _new_session(user)


def log_in_with_sms_code(*, app: App, phone: str, code) -> tuple[EndUser, str]:
    if not app.sms_login_enabled:
        raise LeanCloudError(ErrorCode.OPERATION_FORBIDDEN)
    user = selectors.user_by_phone(app=app, phone=phone)
    if user is None:
        raise LeanCloudError(ErrorCode.PHONE_USER_NOT_FOUND)
    if not user.mobile_phone_verified:
        raise LeanCloudError(ErrorCode.PHONE_NOT_VERIFIED)
    _guard_login(app=app, user=user, check=lambda: sms_services.verify_code(
        app=app, phone=phone, purpose=Purpose.LOGIN, code=code))
    return user, _new_session(user)


def sign_up_or_log_in_with_phone(*, app: App, phone: str, code, fields: dict) -> tuple[EndUser, str]:
    """`usersByMobilePhone`: log in the number's user, or make one with a verified number.

    `username`, `password` and other fields count only when a user is made.
    """
    user = selectors.user_by_phone(app=app, phone=phone)
    verify = lambda: sms_services.verify_code_for_any(  # noqa: E731
        app=app, phone=phone, purposes=SIGN_UP_OR_LOG_IN_PURPOSES, code=code)
    if user is not None:
        _guard_login(app=app, user=user, check=verify)
        return user, _new_session(user)
    verify()
    user = EndUser(app=app, username=phone, custom={})
    rest = {key: value for key, value in fields.items() if key not in ("mobilePhoneNumber", "password", "username")}
    _assign(user, rest, is_master=False)
    user.username = _text(fields.get("username")) or phone
    user.set_password(_text(fields.get("password")))
    user.mobile_phone_number, user.mobile_phone_verified = phone, True
    with transaction.atomic():
        _save_unique(user)
        token = _new_session(user)
        _queue_on_verified(app=app, user=user)
    return user, token


def update_user(*, app: App, user: EndUser, fields: dict, is_master: bool = False,
                validate_token: str | None = None) -> EndUser:
    """PUT on a user: the built-in fields a client may set, and custom fields with LeanCloud's operations."""
    with transaction.atomic():
        user = EndUser.objects.select_for_update().get(pk=user.pk)
        changed = _assign(user, fields, is_master=is_master)
        user.updated_at = timezone.now()
        _save_unique(user)
    if ("mobilePhoneNumber" in changed and user.mobile_phone_number and not user.mobile_phone_verified
            and app.verify_phone_on_signup):
        _send_code_quietly(app=app, phone=user.mobile_phone_number, purpose=Purpose.VERIFY_PHONE,
                           validate_token=validate_token)
    return user


def delete_user(*, user: EndUser) -> None:
    user.delete()


def refresh_session_token(*, user: EndUser) -> str:
    """End every session of the user and open one: its token."""
    with transaction.atomic():
        _end_sessions(user)
        return _new_session(user)


def update_password(*, app: App, user: EndUser, old_password, new_password) -> str:
    """Change the password given the old one; every session ends and a new one opens: its token."""
    new_password = _text(new_password)
    if new_password is None:
        raise LeanCloudError(ErrorCode.PASSWORD_MISSING)
    old_password = _text(old_password) or ""
    _guard_login(app=app, user=user, check=lambda: _require_password(user, old_password))
    with transaction.atomic():
        user.set_password(new_password)
        user.updated_at = timezone.now()
        user.save(update_fields=["password", "updated_at"])
        _end_sessions(user)
        return _new_session(user)


def _user_with_phone(*, app: App, phone: str) -> EndUser:
    user = selectors.user_by_phone(app=app, phone=phone)
    if user is None:
        raise LeanCloudError(ErrorCode.PHONE_USER_NOT_FOUND)
    return user


def request_phone_verification(*, app: App, phone: str, validate_token: str | None = None) -> None:
    """Send a verification code to a user's number, unless it is verified already."""
    user = _user_with_phone(app=app, phone=phone)
    if user.mobile_phone_verified:
        return
    sms_services.request_code(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, validate_token=validate_token)


def verify_phone(*, app: App, code, phone: str | None = None, session_user: EndUser | None = None) -> EndUser:
    """Mark a number verified by its code. Without the number, the code tells it (JS SDK)."""
    if phone is not None:
        user = _user_with_phone(app=app, phone=phone)
        sms_services.verify_code(app=app, phone=phone, purpose=Purpose.VERIFY_PHONE, code=code)
    else:
        preferred = session_user.mobile_phone_number if session_user else ""
        phone = sms_services.verify_code_without_number(
            app=app, purpose=Purpose.VERIFY_PHONE, code=code, prefer_phone=preferred or None,
        )
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
            raise LeanCloudError(ErrorCode.PHONE_USER_NOT_FOUND)
    return user


def request_login_code(*, app: App, phone: str, validate_token: str | None = None) -> None:
    if not app.sms_login_enabled:
        raise LeanCloudError(ErrorCode.OPERATION_FORBIDDEN)
    user = _user_with_phone(app=app, phone=phone)
    if not user.mobile_phone_verified:
        raise LeanCloudError(ErrorCode.PHONE_NOT_VERIFIED)
    sms_services.request_code(app=app, phone=phone, purpose=Purpose.LOGIN, validate_token=validate_token)


def _check_reset_allowed(*, app: App, user: EndUser) -> None:
    if not user.mobile_phone_verified and not app.reset_password_unverified_allowed:
        raise LeanCloudError(ErrorCode.PHONE_NOT_VERIFIED)


def request_password_reset_code(*, app: App, phone: str, validate_token: str | None = None) -> None:
    user = _user_with_phone(app=app, phone=phone)
    _check_reset_allowed(app=app, user=user)
    sms_services.request_code(app=app, phone=phone, purpose=Purpose.RESET_PASSWORD, validate_token=validate_token)


def reset_password_with_code(*, app: App, code, password, phone: str | None = None) -> EndUser:
    """Set a new password with a reset code; every session of the user ends, and so does a lockout."""
    password = _text(password)
    if password is None:
        raise LeanCloudError(ErrorCode.PASSWORD_MISSING)
    if phone is not None:
        user = _user_with_phone(app=app, phone=phone)
        _check_reset_allowed(app=app, user=user)
        sms_services.verify_code(app=app, phone=phone, purpose=Purpose.RESET_PASSWORD, code=code)
    else:
        phone = sms_services.verify_code_without_number(app=app, purpose=Purpose.RESET_PASSWORD, code=code)
        user = _user_with_phone(app=app, phone=phone)
        _check_reset_allowed(app=app, user=user)
    with transaction.atomic():
        user.set_password(password)
        user.updated_at = timezone.now()
        user.save(update_fields=["password", "updated_at"])
        _end_sessions(user)
    get_limiter().forget(login_failure_rules(app=app, user_id=user.id))
    return user


def _check_phone_free(*, app: App, user: EndUser, phone: str) -> None:
    holder = selectors.user_by_phone(app=app, phone=phone)
    if holder is not None and holder.pk != user.pk:
        raise LeanCloudError(ErrorCode.PHONE_TAKEN)


def request_phone_change_code(*, app: App, user: EndUser, phone: str, ttl_minutes: int,
                              validate_token: str | None = None) -> None:
    """Send a change-of-number code to the number a logged-in user wants."""
    _check_phone_free(app=app, user=user, phone=phone)
    sms_services.request_code(app=app, phone=phone, purpose=Purpose.CHANGE_PHONE, ttl_minutes=ttl_minutes,
                              validate_token=validate_token)


def change_phone(*, app: App, user: EndUser, phone: str, code) -> EndUser:
    """Give a logged-in user the number a change-of-number code went to, verified."""
    _check_phone_free(app=app, user=user, phone=phone)
    sms_services.verify_code(app=app, phone=phone, purpose=Purpose.CHANGE_PHONE, code=code)
    with transaction.atomic():
        user = EndUser.objects.select_for_update().get(pk=user.pk)
        user.mobile_phone_number, user.mobile_phone_verified = phone, True
        user.updated_at = timezone.now()
        _save_unique(user)
        _queue_on_verified(app=app, user=user)
    return user


# --- The onVerified hook ------------------------------------------------------------------------

ON_VERIFIED_PATH = "/1.1/functions/onVerified/sms"
HOOK_TIMEOUT_SECONDS = 3
# Seconds before each retry; a failed call is tried at most 1 + len(HOOK_RETRY_DELAYS) times.
HOOK_RETRY_DELAYS = (10, 60, 300)


def _queue_on_verified(*, app: App, user: EndUser) -> None:
    """Once the verification commits, call the app's engine with the user as it is now."""
    if not app.engine_url:
        return
    user_id, shown = user.pk, user.as_leancloud()
    transaction.on_commit(lambda: queue_on_verified_hook(user_id=user_id, user_json=shown, attempt=1))


def queue_on_verified_hook(*, user_id: int, user_json: dict, attempt: int, countdown: int = 0) -> None:
    from .tasks import call_on_verified_hook

    call_on_verified_hook.apply_async(args=(user_id, user_json, attempt), countdown=countdown)


def _retryable(status_code: int | None) -> bool:
    return status_code is None or status_code >= 500 or status_code in (408, 429)


def call_on_verified_hook(*, user_id: int, user_json: dict, attempt: int) -> HookAttempt | None:
    """POST `{"object": user}` to `<engine_url>/1.1/functions/onVerified/sms` the way LeanCloud did,
    record the attempt, and queue a retry after a failure that may pass."""
    user = EndUser.objects.select_related("app").filter(pk=user_id).first()
    if user is None or not user.app.engine_url:
        return None
    app = user.app
    url = app.engine_url.rstrip("/") + ON_VERIFIED_PATH
    headers = {
        "X-LC-Id": app.app_id,
        "X-LC-Key": f"{app.master_key},master",
        "X-LC-Hook-Key": app.hook_key,
        "Content-Type": "application/json",
    }
    body = json.dumps({"object": user_json}, ensure_ascii=False).encode()
    status_code, error = None, ""
    started = time.monotonic()
    try:
        response = requests.post(url, data=body, headers=headers, timeout=HOOK_TIMEOUT_SECONDS, allow_redirects=False)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = response.text[:255]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:255]
    record = HookAttempt.objects.create(
        app=app, user=user, url=url, attempt=attempt, status_code=status_code, error=error,
        succeeded=status_code is not None and 200 <= status_code < 300,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if not record.succeeded and _retryable(status_code) and attempt <= len(HOOK_RETRY_DELAYS):
        queue_on_verified_hook(user_id=user_id, user_json=user_json, attempt=attempt + 1,
                               countdown=HOOK_RETRY_DELAYS[attempt - 1])
    return record


# --- Importing LeanCloud users ------------------------------------------------------------------

IMPORT_BATCH_SIZE = 5000


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)  # position: (where, problem)

    def bad_rows(self) -> list[tuple[str, str]]:
        """(where, problem) of every bad row, in the export's order."""
        return [self.bad[position] for position in sorted(self.bad)]


def import_leancloud_users(*, app: App, rows, batch_size: int = IMPORT_BATCH_SIZE) -> ImportReport:
    """Add the users of a LeanCloud export (`importing.read_export`) to `app`, a batch at a time.

    A row whose objectId the app has is skipped; a bad row (unreadable, or whose username, email or
    number another user has) is reported with where it stands, and the rest go on.
    """
    report = ImportReport()
    batch: list[tuple[ExportRow, EndUser, str]] = []
    now = timezone.now()
    for row in rows:
        if row.problem:
            report.bad[row.position] = (row.where, row.problem)
            continue
        try:
            user, token = user_from_export(app, row.data, now=now)
        except BadRow as exc:
            report.bad[row.position] = (row.where, str(exc))
            continue
        batch.append((row, user, token))
        if len(batch) >= batch_size:
            _import_batch(app=app, batch=batch, report=report)
            batch = []
    if batch:
        _import_batch(app=app, batch=batch, report=report)
    return report


def _import_batch(*, app: App, batch: list[tuple[ExportRow, EndUser, str]], report: ImportReport) -> None:
    existing = EndUser.objects.filter(app=app)
    known_ids = set(existing.filter(object_id__in=[u.object_id for _, u, _ in batch])
                    .values_list("object_id", flat=True))
    taken = {
        "username": set(existing.filter(username__in=[u.username for _, u, _ in batch])
                        .values_list("username", flat=True)),
        "email": set(existing.filter(email__in=[u.email for _, u, _ in batch if u.email])
                     .values_list("email", flat=True)),
        "mobilePhoneNumber": set(
            existing.filter(mobile_phone_number__in=[u.mobile_phone_number for _, u, _ in batch if u.mobile_phone_number])
            .values_list("mobile_phone_number", flat=True)),
    }
    accepted = []
    for row, user, token in batch:
        if user.object_id in known_ids:
            report.skipped += 1
            continue
        values = {"username": user.username, "email": user.email, "mobilePhoneNumber": user.mobile_phone_number}
        clash = next((name for name, value in values.items() if value and value in taken[name]), None)
        if clash:
            report.bad[row.position] = (row.where, f"{clash} {values[clash]!r} belongs to another user")
            continue
        known_ids.add(user.object_id)
        for name, value in values.items():
            if value:
                taken[name].add(value)
        accepted.append((row, user, token))
    try:
        with transaction.atomic():
            _insert_imported(accepted)
        report.imported += len(accepted)
    except IntegrityError:
        # Someone else wrote a clashing user meanwhile: go one by one to find which.
        for row, user, token in accepted:
            user.pk = None
            try:
                with transaction.atomic():
                    _insert_imported([(row, user, token)])
                report.imported += 1
            except IntegrityError:
                report.bad[row.position] = (row.where, "objectId, username, email or number belongs to another user")


def _insert_imported(rows: list[tuple[ExportRow, EndUser, str]]) -> None:
    users = EndUser.objects.bulk_create([user for _, user, _ in rows])
    with_tokens = [(user, token) for user, (_, _, token) in zip(users, rows) if token]
    if with_tokens and any(user.pk is None for user, _ in with_tokens):
        ids = dict(EndUser.objects.filter(app_id=users[0].app_id, object_id__in=[u.object_id for u, _ in with_tokens])
                   .values_list("object_id", "pk"))
        for user, _ in with_tokens:
            user.pk = ids[user.object_id]
    Session.objects.bulk_create(
        [Session(user=user, token_hash=hash_session_token(token)) for user, token in with_tokens],
        ignore_conflicts=True,
    )
