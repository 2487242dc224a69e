"""Accepting a message: the one step every SMS and voice call goes through before delivery.

In one atomic step per message: its number's limits are counted (and given back if anything after
fails), the captcha's validate token is spent, the send record (and what goes with it, such as a
verification code) is written in one transaction with its charge (`sms.charging`), and delivery is
queued once it commits.
"""
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from captcha_app.services import redeem_validate_token
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.limits import get_limiter
from smsplatform.phone import is_mainland_china
from templates_review.checks import SIGNATURE_MAX_CHARACTERS
from templates_review.rendering import ComposedText

from . import routing
from .carriers.registry import get_registry
from .charging import charge_message, unit_price
from .models import Channel, Message, VerificationCode
from .segments import billed_parts
from .send_records import seal_for_delivery
from .sending_limits import sending_rules
from .tasks import queue_delivery

INTERNATIONAL_DISABLED = "International SMS is disabled, please enable it in console."
VOICE_MAINLAND_ONLY = "Voice verification codes can only be sent to mainland China numbers."
NO_VOICE_CARRIER = "Fails to send message: no carrier that supports voice is configured for this number."
# What accepting may refuse a message with, whatever made it (the views document these).
REFUSALS = (Errors.INSUFFICIENT_BALANCE, Errors.THRESHOLD_EXCEEDED, Errors.SMS_SEND_FAILED)


def check_destination(*, app, phone: str, channel: str) -> None:
    """Refuse, before anything is counted, a number the app may not send this kind of message to."""
    mainland = is_mainland_china(phone)
    if channel == Channel.VOICE and not mainland:
        raise LeanCloudError(Errors.BAD_REQUEST, VOICE_MAINLAND_ONLY)
    if not mainland and not app.international_sms_enabled:
        raise LeanCloudError(Errors.BAD_REQUEST, INTERNATIONAL_DISABLED)
    if channel == Channel.VOICE:
        check_voice_route(phone)


def check_voice_route(phone: str) -> None:
    """A voice code needs a route of carriers that can speak (602 otherwise), known before anything
    is counted or stored. Cheap: the routes and carriers this process keeps (re-read every few seconds)."""
    snapshot = get_registry().snapshot()
    code = routing.country_calling_code(phone)
    if not routing.carriers_of(snapshot, routing.route_for(snapshot, country_code=code, channel=Channel.VOICE)):
        raise LeanCloudError(Errors.SMS_SEND_FAILED, NO_VOICE_CARRIER)


def check_signature(signature: str) -> None:
    """600 for a signature no message may carry: empty, or longer than a signature may be. Signatures
    are checked when they are made; this is the last word before a send record holds one."""
    if not signature or len(signature) > SIGNATURE_MAX_CHARACTERS:
        raise LeanCloudError(Errors.INVALID_SIGNATURE)


@dataclass(frozen=True)
class NewCode:
    """A verification code to write with its message (`sms.codes` makes it): from then on the live
    code of (app, number, purpose), replacing the older one in place."""

    purpose: str
    code_hash: str
    ttl: timedelta


def accept_message(*, app, phone: str, channel: str, category: str, purpose: str, composed: ComposedText,
                   validate_token: str | None, code: NewCode | None = None) -> Message | None:
    """Accept one message to `phone` and queue its delivery: its send record, or None for the app's
    test number (the limits and the validate token count; nothing is written or sent). `code` is
    written with the message."""
    check_signature(composed.signature)
    billing = settings.BILLING_ENABLED
    price = unit_price(phone=phone, channel=channel) if billing else None  # before anything is counted
    rules = sending_rules(app=app, phone=phone, channel=channel, category=category, signature=composed.signature)
    with get_limiter().holding(rules), transaction.atomic():
        # Spent here, once the limits passed and with the message: a refused request keeps its token.
        redeem_validate_token(app=app, validate_token=validate_token)
        if app.is_test_number(phone):
            return None
        # The record keeps the masked text; the clear one (and the code) waits sealed for delivery,
        # which clears it when it records the submit.
        message = Message(
            app=app, phone=phone, channel=channel, category=category, purpose=purpose,
            template=composed.template, signature=composed.signature, text=composed.masked,
            sealed=seal_for_delivery(text=composed.text, code=composed.code),
            billed_parts=billed_parts(composed.text), created_at=timezone.now(),
        )
        _write(message, code and VerificationCode(
            app=app, phone=phone, purpose=code.purpose, code_hash=code.code_hash,
            expires_at=message.created_at + code.ttl, wrong_guesses=0, used_at=None, created_at=message.created_at,
        ))
        # Last: the account's row is held only for the commit that follows.
        if billing:
            charge_message(app=app, message=message, price=price)
        transaction.on_commit(lambda: queue_delivery([message.id]))
    return message


def _write(message: Message, code: VerificationCode | None) -> None:
    """The send record and its code: on PostgreSQL in one statement (a data-modifying CTE)."""
    if connection.vendor != "postgresql":
        message.save(force_insert=True)
        if code is not None:
            code.message = message
            VerificationCode.objects.bulk_create([code], update_conflicts=True, unique_fields=CODE_KEY,
                                                 update_fields=CODE_REPLACES)
        return
    columns, values = _row(message)
    sql = (f"WITH m AS (INSERT INTO {Message._meta.db_table} ({', '.join(columns)})"
           f" VALUES ({', '.join(['%s'] * len(values))}) RETURNING id)")
    params = list(values)
    if code is not None:
        code_columns, code_values = _row(code, skip=("message_id",))
        table = VerificationCode._meta.db_table
        sql += (f", c AS (INSERT INTO {table} ({', '.join(code_columns)}, message_id)"
                f" SELECT {', '.join(['%s'] * len(code_values))}, m.id FROM m"
                f" ON CONFLICT ({', '.join(_column(VerificationCode, f) for f in CODE_KEY)}) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in (_column(VerificationCode, f) for f in CODE_REPLACES))
                + ")")
        params += code_values
    with connection.cursor() as cursor:
        cursor.execute(sql + " SELECT id FROM m", params)
        message.pk = cursor.fetchone()[0]
    message._state.adding, message._state.db = False, connection.alias
    if code is not None:
        code.message = message


# A newer code for the same (app, number, purpose) replaces the older one in place.
CODE_KEY = ["app", "phone", "purpose"]
CODE_REPLACES = ["code_hash", "expires_at", "wrong_guesses", "used_at", "message", "created_at"]


def _column(model, name: str) -> str:
    return model._meta.get_field(name).column


def _row(instance, skip=()) -> tuple[list[str], list]:
    fields = [f for f in instance._meta.concrete_fields if not f.primary_key and f.column not in skip]
    return ([f.column for f in fields],
            [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields])
