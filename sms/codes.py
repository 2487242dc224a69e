"""Verification codes: making one with its message, and accepting it once.

A code is six digits from a CSPRNG, kept as a keyed hash, compared in constant time, single-use,
expiring after its ttl, and dead after MAX_WRONG_GUESSES wrong guesses (the app's test number's
fixed code, which never dies, is locked for a while instead: `test_code_rules`). A newer code for the same
(app, number, purpose) replaces the older one.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from captcha_app.services import check_validate_token
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import Rule, get_limiter, rate_rules
from smsplatform.params import whole_number
from smsplatform.tokens import keyed_digest, random_digits, same_secret
from templates_review import rendering, text_rules
from templates_review.rendering import compose_sms, compose_voice_code

from . import send_records, sending
from .models import Category, Channel, Message, VerificationCode
from .sending import INTERNATIONAL_DISABLED, NewCode, accept_message, check_destination

CODE_DIGITS = 6
DEFAULT_TTL_MINUTES = 10

# What `request_code` may refuse a code with (the views that call it document these).
REFUSALS = (
    (Errors.BAD_REQUEST, INTERNATIONAL_DISABLED), Errors.MISSING_VALIDATE_TOKEN,
    (Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s)."), Errors.SMS_TOO_FREQUENT,
    *rendering.REFUSALS, *sending.REFUSALS,
)
# ... and what it may refuse a template's message with, and the values a caller puts into a text.
TEMPLATE_REFUSALS = (*rendering.TEMPLATE_REFUSALS, *text_rules.REFUSALS)


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

    With a notification `template`, its text goes alone: no code is made (nor needed to verify).
    Returns the send record, or None for the app's test number, to which nothing is sent.
    """
    check_destination(app=app, phone=phone, channel=channel)
    check_validate_token(app=app, validate_token=validate_token)
    code = new_code()
    if channel == Channel.VOICE:
        if template:
            raise LeanCloudError(Errors.BAD_REQUEST, rendering.VOICE_WITHOUT_TEMPLATE)
        composed = compose_voice_code(app=app, code=code)
    else:
        composed = compose_sms(
            app=app, code=code, ttl_minutes=ttl_minutes, name=name, op=op,
            template=template, sign=sign, variables=variables or {},
        )
    if composed.category == Category.NOTIFICATION:
        return accept_message(
            app=app, phone=phone, channel=channel, category=Category.NOTIFICATION, purpose="",
            composed=composed, validate_token=validate_token,
        )

    return accept_message(
        app=app, phone=phone, channel=channel, category=Category.VERIFICATION, purpose=purpose,
        composed=composed, validate_token=validate_token,
        code=NewCode(purpose, hash_code(app=app, purpose=purpose, code=code), timedelta(minutes=ttl_minutes)),
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
    """The app's test number has a fixed code, which verifies as often as it is given."""
    return bool(app.test_phone_number) and same_secret(code, app.test_phone_code)


def test_code_rules(*, app) -> list[Rule]:
    """Wrong guesses of the app's test number's fixed code: it never dies, so MAX_WRONG_GUESSES of
    them lock it instead (603, the right code too) until TEST_CODE_LOCKOUT_SECONDS after the last."""
    return [Rule(f"app:{app.id}:test-code:wrong-guesses", settings.TEST_CODE_LOCKOUT_SECONDS,
                 VerificationCode.MAX_WRONG_GUESSES, Errors.INVALID_SMS_CODE, anchored=True)]


def _check_test_code(app, code: str) -> None:
    """603 unless `code` is the test number's fixed code and it is not locked (`test_code_rules`).

    Every guess is counted before it is checked and given back when right, so simultaneous guesses
    cannot slip past the lockout."""
    limiter = get_limiter()
    with limiter.holding(test_code_rules(app=app), keep_on=(LeanCloudError,)) as held:
        if not _is_test_code(app, code):
            raise LeanCloudError(Errors.INVALID_SMS_CODE)
    limiter.release(held)


def _well_formed(code) -> bool:
    return isinstance(code, str) and len(code) == CODE_DIGITS and code.isdigit()


def verify_code_for_any(*, app, phone: str, purposes: list[str], code: str) -> str:
    """`verify_code` for a call that accepts codes sent for any of `purposes`: the purpose it was sent for.

    A wrong guess counts against every live code of those purposes for the number.
    """
    if not _well_formed(code):
        raise LeanCloudError(Errors.INVALID_SMS_CODE)
    if app.is_test_number(phone):
        _check_test_code(app, code)
        return purposes[0]
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


def code_without_number_rules(*, app) -> list[Rule]:
    """Failed guesses of codes without their number, per app (`CODE_WITHOUT_NUMBER_FAILURES_PER_APP`):
    past the budget the app's number-less path is closed (429), the right code included, until the
    window has room again. Each guess could be any user's code; only the app's budget bounds them all."""
    return rate_rules(f"app:{app.id}:code-without-number:failures", settings.CODE_WITHOUT_NUMBER_FAILURES_PER_APP,
                      Errors.TOO_MANY_REQUESTS)


def verify_code_without_number(*, app, purpose: str, code: str, prefer_phone: str | None = None) -> str:
    """Accept `code` once for (app, purpose) when the caller does not say which number it went to
    (the JS SDK's verifyMobilePhone and resetPasswordBySmsCode): the number it was sent to.

    `prefer_phone` (the logged-in caller's number): when it has a live code of this purpose, the
    code is checked against that number alone, as if it had been given (a wrong guess counts
    against that code). Otherwise the code tells the number, through its hash (index
    `sms_code_by_hash`): when live codes of several numbers share these digits, the code is refused
    (603) rather than guessed, and every such guess is counted against the app's budget before it
    is checked (`code_without_number_rules`), given back when it was right.
    """
    if prefer_phone and _live_codes(app=app, now=timezone.now()).filter(phone=prefer_phone, purpose=purpose).exists():
        verify_code(app=app, phone=prefer_phone, purpose=purpose, code=code)
        return prefer_phone
    limiter = get_limiter()
    with limiter.holding(code_without_number_rules(app=app), keep_on=(LeanCloudError,)) as held:
        phone = _find_code_without_number(app=app, purpose=purpose, code=code)
    limiter.release(held)
    return phone


def _find_code_without_number(*, app, purpose: str, code: str) -> str:
    if not _well_formed(code):
        raise LeanCloudError(Errors.INVALID_SMS_CODE)
    now = timezone.now()
    live = _live_codes(app=app, now=now).filter(purpose=purpose)
    code_hash = hash_code(app=app, purpose=purpose, code=code)
    candidates = list(live.filter(code_hash=code_hash).values_list("id", "phone", "message_id")[:2])
    if len(candidates) == 1:
        code_id, phone, message_id = candidates[0]
        _use_code(live=live, code_id=code_id, code_hash=code_hash, message_id=message_id, now=now)
        return phone
    if _is_test_code(app, code):
        _check_test_code(app, code)
        return app.test_phone_number
    raise LeanCloudError(Errors.INVALID_SMS_CODE)
