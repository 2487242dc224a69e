"""Writes of the SMS app: accepting a code request, checking a code, delivering messages."""
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from captcha_app.services import check_validate_token, redeem_validate_token
from smsplatform.errors import ErrorCode, LeanCloudError
from templates_review.rendering import compose_verification_sms, compose_voice_code

from .carriers import OutboundMessage, preferred_carrier
from .limits import get_limiter, sending_rules
from .models import Category, Channel, Message, MessageStatus, VerificationCode
from .outbox import BATCH_SIZE as OUTBOX_BATCH_SIZE
from .outbox import get_outbox
from .phone import is_mainland_china
from .segments import count_parts

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
INTERNATIONAL_DISABLED = "International SMS is disabled, please enable it in console."
VOICE_MAINLAND_ONLY = "Voice verification codes can only be sent to mainland China numbers."


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(*, app, purpose: str, code: str) -> str:
    """Keyed hash of a code: useless without SECRET_KEY, the same for any number (see the index)."""
    message = f"{app.id}|{purpose}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def is_test_number(app, phone: str) -> bool:
    return bool(app.test_phone_number) and phone == app.test_phone_number


def request_code(*, app, phone: str, purpose: str, ttl_minutes: int = 10, channel: str = Channel.SMS,
                 name: str | None = None, op: str | None = None, template: str | None = None,
                 sign: str | None = None, variables: dict | None = None,
                 validate_token: str | None = None) -> Message | None:
    """Make a code for (app, phone, purpose), replacing any older one, and queue its message.

    Returns the send record, or None for the app's test number, to which nothing is sent.
    """
    mainland = is_mainland_china(phone)
    if channel == Channel.VOICE and not mainland:
        raise LeanCloudError(ErrorCode.INTERNAL, VOICE_MAINLAND_ONLY)
    if not mainland and not app.international_sms_enabled:
        raise LeanCloudError(ErrorCode.INTERNAL, INTERNATIONAL_DISABLED)

    check_validate_token(app=app, validate_token=validate_token)
    code = new_code()
    if channel == Channel.VOICE:
        composed = compose_voice_code(app=app, code=code)
    else:
        composed = compose_verification_sms(
            app=app, code=code, ttl_minutes=ttl_minutes, name=name, op=op,
            template=template, sign=sign, variables=variables or {},
        )

    limiter = get_limiter()
    reservation = limiter.acquire(sending_rules(
        app=app, phone=phone, channel=channel, category=Category.VERIFICATION, signature=composed.signature,
    ))
    try:
        with transaction.atomic():
            # Spent here, once the limits passed and with the message: a refused request keeps its token.
            redeem_validate_token(app=app, validate_token=validate_token)
            if is_test_number(app, phone):
                return None
            now = timezone.now()
            message = Message.objects.create(
                app=app, phone=phone, channel=channel, category=Category.VERIFICATION, purpose=purpose,
                template=composed.template, signature=composed.signature, text=composed.text,
                parts=count_parts(composed.text), created_at=now,
            )
            VerificationCode.objects.bulk_create(
                [VerificationCode(
                    app=app, phone=phone, purpose=purpose, code_hash=hash_code(app=app, purpose=purpose, code=code),
                    expires_at=now + timedelta(minutes=ttl_minutes), wrong_guesses=0, used_at=None,
                    message=message, created_at=now,
                )],
                update_conflicts=True,
                unique_fields=["app", "phone", "purpose"],
                update_fields=["code_hash", "expires_at", "wrong_guesses", "used_at", "message", "created_at"],
            )
            transaction.on_commit(lambda: queue_delivery([message.id]))
    except BaseException:
        limiter.release(reservation)
        raise
    return message


def verify_code(*, app, phone: str, purpose: str, code: str) -> None:
    """Accept `code` once for (app, phone, purpose), or raise 603.

    A code dies when used, when it expires, and after MAX_WRONG_GUESSES wrong guesses.
    """
    verify_code_for_any(app=app, phone=phone, purposes=[purpose], code=code)


def queue_delivery(message_ids: list[int]) -> None:
    """Hand accepted messages to the workers. If that fails now, they stay `accepted` and
    `requeue_stalled_messages` hands them over again: the request that accepted them still succeeds."""
    from .tasks import deliver_messages as deliver_task
    from .tasks import drain_outbox as drain_task

    try:
        outbox = get_outbox()
        if outbox is None:
            deliver_task.delay(message_ids)
        elif outbox.push(message_ids):
            drain_task.delay()
    except Exception:
        logger.exception("Could not queue messages %s; the stalled-message sweep will retry", message_ids)


def drain_outbox(*, batch_size: int = OUTBOX_BATCH_SIZE) -> int:
    """Deliver what the outbox holds, a batch at a time, until it is empty; the count taken."""
    outbox = get_outbox()
    if outbox is None:
        return 0
    taken = 0
    while ids := outbox.take(batch_size):
        taken += len(ids)
        try:
            deliver_messages(ids)
        except Exception:
            outbox.release()  # let the next accepted message schedule a fresh drainer at once
            raise
    return taken


STALLED_AFTER = timedelta(seconds=30)


def requeue_stalled_messages(*, older_than: timedelta = STALLED_AFTER, limit: int = 1000) -> int:
    """Queue again messages still `accepted` after `older_than` (their task was never queued or was
    lost). Delivery claims only `accepted` messages, so a message queued twice is still sent once."""
    stalled = list(
        Message.objects.filter(status=MessageStatus.ACCEPTED, created_at__lt=timezone.now() - older_than)
        .order_by("created_at").values_list("id", flat=True)[:limit]
    )
    if stalled:
        queue_delivery(stalled)
    return len(stalled)


def deliver_messages(message_ids: list[int]) -> None:
    """Push accepted messages to their carrier. Safe to run twice: only `accepted` ones are claimed."""
    with transaction.atomic():
        # Lock the messages only (not their app, which every accepting request references): a
        # second run of the same task waits here, then finds them no longer `accepted`.
        claimed = list(
            Message.objects.select_for_update(of=("self",))
            .filter(id__in=message_ids, status=MessageStatus.ACCEPTED)
            .select_related("app")
            .order_by("id")
        )
        if not claimed:
            return
        carrier = preferred_carrier()
        Message.objects.filter(id__in=[m.id for m in claimed]).move_to(
            MessageStatus.SENDING, carrier=carrier.name, attempts=F("attempts") + 1,
        )
    outbound = [OutboundMessage(m.id, m.app.app_id, m.phone, m.text, m.channel) for m in claimed]
    try:
        results = carrier.submit(outbound)
    except Exception as exc:  # the carrier's call failed as a whole: every message of the batch failed
        logger.exception("Carrier %s failed a batch of %d", carrier.name, len(outbound))
        Message.objects.filter(id__in=[m.id for m in claimed]).move_to(
            MessageStatus.CALL_FAILED, error=str(exc)[:255]
        )
        return
    record_submit_results(results)


def record_submit_results(results) -> None:
    """Write what a carrier said of a batch: one UPDATE per resulting status."""
    now = timezone.now()
    by_status: dict[str, list[Message]] = {}
    for result in results:
        by_status.setdefault(result.status, []).append(Message(
            id=result.message_id, status=result.status, carrier_message_id=result.carrier_message_id,
            error=result.error[:255], finished_at=now,
        ))
    for status, messages in by_status.items():
        fields = ["status", "carrier_message_id", "error"]
        if status != MessageStatus.WAITING_RECEIPT:
            fields.append("finished_at")
        Message.objects.may_move_to(status).bulk_update(messages, fields, batch_size=1000)


def _live_codes(*, app, now):
    return VerificationCode.objects.filter(
        app=app, used_at__isnull=True, expires_at__gt=now, wrong_guesses__lt=VerificationCode.MAX_WRONG_GUESSES,
    )


def _use_code(*, live, code_id: int, code_hash: str, message_id: int | None, now) -> None:
    with transaction.atomic():
        # Conditional on the row being unchanged: of two racing verifications only one wins, and a
        # code replaced in the meantime does not verify.
        if not live.filter(id=code_id, code_hash=code_hash).update(used_at=now):
            raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)
        if message_id:
            Message.objects.filter(id=message_id).move_to(MessageStatus.VERIFIED, verified_at=now)


def _well_formed(code) -> bool:
    return isinstance(code, str) and len(code) == CODE_DIGITS and code.isdigit()


def verify_code_for_any(*, app, phone: str, purposes: list[str], code: str) -> str:
    """`verify_code` for a call that accepts codes sent for any of `purposes`: the purpose it was sent for.

    A wrong guess counts against every live code of those purposes for the number.
    """
    if not _well_formed(code):
        raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)
    if is_test_number(app, phone):
        if hmac.compare_digest(code, app.test_phone_code):
            return purposes[0]
        raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)
    now = timezone.now()
    live = _live_codes(app=app, now=now).filter(phone=phone, purpose__in=purposes)
    rows = list(live.values_list("id", "purpose", "code_hash", "message_id"))
    for code_id, purpose, code_hash, message_id in rows:
        if hmac.compare_digest(hash_code(app=app, purpose=purpose, code=code), code_hash):
            _use_code(live=live, code_id=code_id, code_hash=code_hash, message_id=message_id, now=now)
            return purpose
    if rows:
        live.filter(id__in=[row[0] for row in rows]).update(wrong_guesses=F("wrong_guesses") + 1)
    raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)


def verify_code_without_number(*, app, purpose: str, code: str, prefer_phone: str | None = None) -> str:
    """Accept `code` once for (app, purpose) when the caller does not say which number it went to
    (the JS SDK's verifyMobilePhone and resetPasswordBySmsCode): the number it was sent to.

    Found through the code's hash (index `sms_code_by_hash`). When live codes of several numbers
    share these digits, only `prefer_phone`'s is taken; otherwise the code is refused (603) rather
    than guessed. A refused code counts as a wrong guess against `prefer_phone`'s code.
    """
    if not _well_formed(code):
        raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)
    now = timezone.now()
    live = _live_codes(app=app, now=now).filter(purpose=purpose)
    code_hash = hash_code(app=app, purpose=purpose, code=code)
    candidates = list(live.filter(code_hash=code_hash).values_list("id", "phone", "message_id")[:10])
    chosen = [row for row in candidates if row[1] == prefer_phone] or (candidates if len(candidates) == 1 else [])
    if chosen:
        code_id, phone, message_id = chosen[0]
        _use_code(live=live, code_id=code_id, code_hash=code_hash, message_id=message_id, now=now)
        return phone
    if app.test_phone_number and hmac.compare_digest(code, app.test_phone_code):
        return app.test_phone_number
    if prefer_phone:
        verify_code(app=app, phone=prefer_phone, purpose=purpose, code=code)
        return prefer_phone
    raise LeanCloudError(ErrorCode.INVALID_SMS_CODE)
