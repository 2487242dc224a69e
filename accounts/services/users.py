"""The `_User` body (built-in fields, custom fields and LeanCloud's field operations), sign-up, update."""
import json
import math
import re
from typing import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from smsplatform.errors import Errors, LeanCloudError
from smsplatform.params import non_empty_string
from smsplatform.phone import phone_from_param

from ..models import App, EndUser
from .sessions import new_session

# A custom field's name, as LeanCloud takes it (else 105).
CUSTOM_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Keys of a `_User` body that are never stored among its custom fields.
NOT_STORED = {"objectId", "createdAt", "updatedAt", "sessionToken", "smsCode", "validate_token", "salt",
              "className", "__type"}
_DELETE = object()

# Called with the user as it will be saved and the built-in fields that change, before anything is
# written: it may refuse (raise) the save.
BeforeSave = Callable[[EndUser, set[str]], None]


USERNAME_MAX = EndUser._meta.get_field("username").max_length
EMAIL_MAX = EndUser._meta.get_field("email").max_length


def username_from(value) -> str:
    """A username: a non-empty string (else 200) that fits its column."""
    username = non_empty_string(value)
    if username is None:
        raise LeanCloudError(Errors.USERNAME_MISSING)
    if len(username) > USERNAME_MAX:
        raise LeanCloudError(Errors.BAD_REQUEST, f"username may be at most {USERNAME_MAX} characters.")
    return username


def email_from(value: str) -> str:
    """An email address, as Django's validator and the column take it (else LeanCloud's 125)."""
    try:
        if len(value) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(value)
    except ValidationError:
        raise LeanCloudError(Errors.INVALID_EMAIL)
    return value


def check_custom_fields(custom: dict) -> None:
    """413 (116) when a user's custom fields, as stored, take more than USER_CUSTOM_FIELDS_MAX_BYTES
    of JSON: a body is bounded, but operations (`Add`) make fields grow from one change to the next."""
    limit = settings.USER_CUSTOM_FIELDS_MAX_BYTES
    if len(json.dumps(custom, ensure_ascii=False, separators=(",", ":")).encode()) > limit:
        raise LeanCloudError(Errors.OBJECT_TOO_LARGE, f"A user's custom fields may take at most {limit} bytes of JSON.")


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
            raise LeanCloudError(Errors.BAD_REQUEST, "The amount of an Increment must be a number.")
        base = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
        result = base + amount if op == "Increment" else base - amount
        if isinstance(result, float) and not math.isfinite(result):
            raise LeanCloudError(Errors.BAD_REQUEST, "The result of an Increment is out of range.")
        return result
    if op in ("Add", "AddUnique", "Remove"):
        objects = value.get("objects")
        if not isinstance(objects, list):
            raise LeanCloudError(Errors.BAD_REQUEST, f"{op} needs a list of objects.")
        base = list(current) if isinstance(current, list) else []
        if op == "Add":
            return base + objects
        if op == "AddUnique":
            return base + [item for item in objects if item not in base]
        return [item for item in base if item not in objects]
    raise LeanCloudError(Errors.BAD_REQUEST, f"Unsupported operation {op!r}.")


def assign(user: EndUser, fields: dict, *, is_master: bool) -> set[str]:
    """Apply a `_User` body to `user` (not saved); the built-in fields that changed."""
    changed = set()
    custom = dict(user.custom)
    for key, value in fields.items():
        if key in NOT_STORED or key.startswith("_"):
            continue
        if key == "username":
            username = username_from(value)
            if username != user.username:
                user.username = username
                changed.add(key)
        elif key == "password":
            password = non_empty_string(value)
            if password is None:
                raise LeanCloudError(Errors.PASSWORD_MISSING)
            user.set_password(password)
            changed.add(key)
        elif key == "email":
            if not (_is_delete(value) or isinstance(value, str)):
                raise LeanCloudError(Errors.BAD_REQUEST, "email must be a string.")
            email = "" if _is_delete(value) else email_from(value)
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
            if not CUSTOM_KEY.fullmatch(key):
                raise LeanCloudError(Errors.INVALID_KEY_NAME)
            new = _apply_operation(custom.get(key), value)
            if new is _DELETE:
                custom.pop(key, None)
            else:
                custom[key] = new
    check_custom_fields(custom)
    user.custom = custom
    # A flag cannot claim what is not there.
    user.email_verified = user.email_verified and bool(user.email)
    user.mobile_phone_verified = user.mobile_phone_verified and bool(user.mobile_phone_number)
    return changed


def sends_verification_code(*, app: App, user: EndUser, changed: set[str]) -> bool:
    """Whether saving `user` with these changes sends its number a verification code: the app's
    `verify_phone_on_signup`, for a number the user just got and has not verified."""
    return (app.verify_phone_on_signup and "mobilePhoneNumber" in changed
            and bool(user.mobile_phone_number) and not user.mobile_phone_verified)


def _conflict(user: EndUser) -> LeanCloudError | None:
    others = EndUser.objects.filter(app_id=user.app_id).exclude(pk=user.pk)
    if others.filter(username=user.username).exists():
        return LeanCloudError(Errors.USERNAME_TAKEN)
    if user.email and others.filter(email=user.email).exists():
        return LeanCloudError(Errors.EMAIL_TAKEN)
    if user.mobile_phone_number and others.filter(mobile_phone_number=user.mobile_phone_number).exists():
        return LeanCloudError(Errors.PHONE_TAKEN)
    return None


def save_unique(user: EndUser) -> None:
    """Save; a username, email or number another user of the app has is 202, 203 or 214."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        error = _conflict(user)
        if error is None:
            raise
        raise error


def sign_up(*, app: App, fields: dict, is_master: bool = False,
            before_save: BeforeSave | None = None) -> tuple[EndUser, str, set[str]]:
    """A new user from a sign-up body, logged in: (user, session token, the built-in fields it set)."""
    if non_empty_string(fields.get("username")) is None:
        raise LeanCloudError(Errors.USERNAME_MISSING)
    if non_empty_string(fields.get("password")) is None:
        raise LeanCloudError(Errors.PASSWORD_MISSING)
    user = EndUser(app=app, custom={})
    changed = assign(user, fields, is_master=is_master)
    if before_save:
        before_save(user, changed)
    with transaction.atomic():
        save_unique(user)
        token = new_session(user)
    return user, token, changed


def update_user(*, app: App, user: EndUser, fields: dict, is_master: bool = False,
                before_save: BeforeSave | None = None) -> tuple[EndUser, set[str]]:
    """PUT on a user: the built-in fields a client may set, and custom fields with LeanCloud's
    operations; (the user as saved, the built-in fields that changed)."""
    with transaction.atomic():
        user = EndUser.objects.select_for_update().get(pk=user.pk)
        changed = assign(user, fields, is_master=is_master)
        if before_save:
            before_save(user, changed)
        user.updated_at = timezone.now()
        save_unique(user)
    return user, changed


def delete_user(*, user: EndUser) -> None:
    user.delete()
