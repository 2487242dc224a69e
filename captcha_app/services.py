"""Writes of the captcha app: issuing a challenge, answering it, redeeming the validate token."""
from dataclasses import dataclass
from datetime import timedelta

from captcha.models import CaptchaStore
from django.db import transaction
from django.utils import timezone

from smsplatform.errors import Errors, LeanCloudError
from smsplatform.tokens import digest, new_token, same_secret

from . import selectors
from .challenges import random_challenge
from .models import VALIDATE_TOKEN_TTL, CaptchaChallenge, ChallengeStatus

CAPTCHA_GONE = "Captcha expired or already answered; request a new one."
WRONG_ANSWER = "Invalid captcha code; request a new captcha."
ANSWER_MISSING = "captcha_code and captcha_token are required."


@dataclass(frozen=True)
class IssuedChallenge:
    token: str
    challenge: CaptchaChallenge


def issue_challenge(*, app, width: int, height: int, length: int, ttl_seconds: int) -> IssuedChallenge:
    """A new challenge of `length` characters, answerable for `ttl_seconds`; the token is not stored."""
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl_seconds)
    text, answer = random_challenge(length)
    token = new_token()
    with transaction.atomic():
        store = CaptchaStore.objects.create(challenge=text, response=answer, expiration=expires_at)
        challenge = CaptchaChallenge.objects.create(
            app=app, token_hash=digest(token), store=store, width=width, height=height,
            created_at=now, expires_at=expires_at,
        )
    return IssuedChallenge(token=token, challenge=challenge)


def answer_challenge(*, app, token: str | None, answer: str | None) -> str:
    """Check `answer` (case-insensitive) once: the validate token, or an error.

    Any answer ends the challenge, a wrong one too, so one image never takes a second guess.
    """
    if not token or not answer:
        raise LeanCloudError(Errors.BAD_REQUEST, ANSWER_MISSING)
    now = timezone.now()
    found = selectors.challenge_to_answer(app=app, token=token, now=now)
    if found is None or found[1] is None:
        raise LeanCloudError(Errors.BAD_REQUEST, CAPTCHA_GONE)
    challenge_id, expected = found
    right = same_secret(answer.strip().lower(), expected)
    validate_token = new_token() if right else None
    # Conditional on the challenge still being live: of two racing answers only one counts.
    answered = selectors.live_challenges(now=now).filter(id=challenge_id).update(
        status=ChallengeStatus.SOLVED if right else ChallengeStatus.FAILED,
        answered_at=now,
        validate_token_hash=digest(validate_token) if right else None,
        validate_token_expires_at=now + VALIDATE_TOKEN_TTL if right else None,
    )
    if not answered:
        raise LeanCloudError(Errors.BAD_REQUEST, CAPTCHA_GONE)
    if not right:
        raise LeanCloudError(Errors.BAD_REQUEST, WRONG_ANSWER)
    return validate_token


def check_validate_token(*, app, validate_token: str | None) -> None:
    """Refuse early (608), before any limit is counted, a request that forced captcha will refuse.

    Spends nothing: `redeem_validate_token` does, once the request is otherwise accepted.
    """
    if not app.force_captcha:
        return
    if not validate_token or not selectors.live_validate_tokens(app=app, validate_token=validate_token).exists():
        raise LeanCloudError(Errors.MISSING_VALIDATE_TOKEN)


def redeem_validate_token(*, app, validate_token: str | None) -> None:
    """Gate of every SMS-sending call: spend `validate_token`, once; 608 if captcha is forced and it cannot be.

    A valid token is spent even when the app does not force captcha; an invalid one is then ignored.
    Call it inside the transaction that accepts the message, so that a request failing later gives
    its token back. Of two requests racing with one token, exactly one spends it (a conditional UPDATE).
    """
    if validate_token:
        now = timezone.now()
        if selectors.live_validate_tokens(app=app, validate_token=validate_token, now=now).update(redeemed_at=now):
            return
    if app.force_captcha:
        raise LeanCloudError(Errors.MISSING_VALIDATE_TOKEN)
