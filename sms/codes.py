"""Verification codes: making one with its message, and accepting it once.

A code is six digits from a CSPRNG, kept as a keyed hash, compared in constant time, single-use,
expiring after its ttl, and dead after MAX_WRONG_GUESSES wrong guesses. A newer code for the same
(app, number, purpose) replaces the older one.
"""
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from captcha_app.services import check_validate_token
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.params import whole_number
from smsplatform.tokens import keyed_digest, random_digits, same_secret
from templates_review.rendering import compose_verification_sms, compose_voice_code

from . import send_records
from .models import Category, Channel, Message, VerificationCode
from .sending import accept_message, check_destination

CODE_DIGITS = 6
DEFAULT_TTL_MINUTES = 10


def ttl_from_param(raw, *, default: int = DEFAULT_TTL_MINUTES) -> int:
    """A code's `ttl` parameter: whole minutes, 1 to VerificationCode.MAX_TTL_MINUTES."""
    return whole_number(raw, name="ttl", low=1, high=VerificationCode.MAX_TTL_MINUTES, default=default)


def new_code() -> str:
    return random_digits(CODE_DIGITS)


def hash_code(*, app, purpose: str, code: str) -> str:
    """Keyed hash of a code: useless without SECRET_KEY, the same for any number (see the index)."""
    return keyed_digest(f"{app.id}|{purpose}|{code}")


def request_code(*, app, phone: str, purpose: str, ttl_minutes: int = DEFAULT_TTL_MINUTES,
                 channel: str = Channel.SMS, name: str | None = None, op: str | None = None,
                 template: str | None = None, sign: str | None = None, variables: dict | None = None,
                 validate_token: str | None = None) -> Message | None:
    """Make a code for (app, phone, purpose), replacing any older one, and queue its message.

    Returns the send record, or None for the app's test number, to which nothing is sent.
    """
    check_destination(app=app, phone=phone, channel=channel)
    check_validate_token(app=app, validate_token=validate_token)
    code = new_code()
    if channel == Channel.VOICE:
        composed = compose_voice_code(app=app, code=code)
    else:
        composed = compose_verification_sms(
            app=app, code=code, ttl_minutes=ttl_minutes, name=name, op=op,
            template=template, sign=sign, variables=variables or {},
        )

    def write_code(message: Message) -> None:
        VerificationCode.objects.bulk_create(
            [VerificationCode(
                app=app, phone=phone, purpose=purpose, code_hash=hash_code(app=app, purpose=purpose, code=code),
                expires_at=message.created_at + timedelta(minutes=ttl_minutes), wrong_guesses=0, used_at=None,
                message=message, created_at=message.created_at,
            )],
            update_conflicts=True,
            unique_fields=["app", "phone", "purpose"],
            update_fields=["code_hash", "expires_at", "wrong_guesses", "used_at", "message", "created_at"],
        )

    return accept_message(
        app=app, phone=phone, channel=channel, category=Category.VERIFICATION, purpose=purpose,
        composed=composed, validate_token=validate_token, write_with=write_code,
    )


def verify_code(*, app, phone: str, purpose: str, code: str) -> None:
    """Accept `code` once for (app, phone, purpose), or raise 603."""
    verify_code_for_any(app=app, phone=phone, purposes=[purpose], code=code)


def _live_codes(*, app, now):
    return VerificationCode.objects.filter(
        app=app, used_at__isnull=True, expires_at__gt=now, wrong_guesses__lt=VerificationCode.MAX_WRONG_GUESSES,
    )


def _use_code(*, live, code_id: int, code_hash: str, message_id: int | None, now) -> None:
    with transaction.atomic():
        # Conditional on the row being unchanged: of two racing verifications only one wins, and a
        # code replaced in the meantime does not verify.
        if not live.filter(id=code_id, code_hash=code_hash).update(used_at=now):
            raise LeanCloudError(Errors.INVALID_SMS_CODE)
        if message_id:
            send_records.mark_verified(message_id, now=now)


def _is_test_code(app, code: str) -> bool:
    """The app's test number has a fixed code, which always verifies."""
    return bool(app.test_phone_number) and same_secret(code, app.test_phone_code)


def _well_formed(code) -> bool:
    return isinstance(code, str) and len(code) == CODE_DIGITS and code.isdigit()


def verify_code_for_any(*, app, phone: str, purposes: list[str], code: str) -> str:
    """`verify_code` for a call that accepts codes sent for any of `purposes`: the purpose it was sent for.

    A wrong guess counts against every live code of those purposes for the number.
    """
    if not _well_formed(code):
        raise LeanCloudError(Errors.INVALID_SMS_CODE)
    if app.is_test_number(phone):
        if _is_test_code(app, code):
            return purposes[0]
        raise LeanCloudError(Errors.INVALID_SMS_CODE)
    now = timezone.now()
    live = _live_codes(app=app, now=now).filter(phone=phone, purpose__in=purposes)
    rows = list(live.values_list("id", "purpose", "code_hash", "message_id"))
    for code_id, purpose, code_hash, message_id in rows:
        if same_secret(hash_code(app=app, purpose=purpose, code=code), code_hash):
            _use_code(live=live, code_id=code_id, code_hash=code_hash, message_id=message_id, now=now)
            return purpose
    if rows:
        live.filter(id__in=[row[0] for row in rows]).update(wrong_guesses=F("wrong_guesses") + 1)
    raise LeanCloudError(Errors.INVALID_SMS_CODE)


def verify_code_without_number(*, app, purpose: str, code: str, prefer_phone: str | None = None) -> str:
    """Accept `code` once for (app, purpose) when the caller does not say which number it went to
    (the JS SDK's verifyMobilePhone and resetPasswordBySmsCode): the number it was sent to.

    Found through the code's hash (index `sms_code_by_hash`). When live codes of several numbers
    share these digits, only `prefer_phone`'s is taken; otherwise the code is refused (603) rather
    than guessed. A refused code counts as a wrong guess against `prefer_phone`'s code.
    """
    if not _well_formed(code):
        raise LeanCloudError(Errors.INVALID_SMS_CODE)
    now = timezone.now()
    live = _live_codes(app=app, now=now).filter(purpose=purpose)
    code_hash = hash_code(app=app, purpose=purpose, code=code)
    candidates = list(live.filter(code_hash=code_hash).values_list("id", "phone", "message_id")[:10])
    chosen = [row for row in candidates if row[1] == prefer_phone] or (candidates if len(candidates) == 1 else [])
    if chosen:
        code_id, phone, message_id = chosen[0]
        _use_code(live=live, code_id=code_id, code_hash=code_hash, message_id=message_id, now=now)
        return phone
    if _is_test_code(app, code):
        return app.test_phone_number
    if prefer_phone:
        verify_code(app=app, phone=prefer_phone, purpose=purpose, code=code)
        return prefer_phone
    raise LeanCloudError(Errors.INVALID_SMS_CODE)
