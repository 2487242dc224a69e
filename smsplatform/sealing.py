"""Sealing: what must wait at rest in clear only on its way somewhere (a message's clear text and its
code on the way to the carrier; a carrier's secret in its admin row) is encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from `cryptography`) under keys from the settings.

`SMS_SEALING_KEY` is a comma-separated list of Fernet keys (urlsafe base64 of 32 bytes, as made by
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`): the
first seals, every one unseals (a MultiFernet). Rotation: put the new key first and keep the old one
after it until nothing sealed under the old one is left (sealed texts live until their message is
submitted, a few seconds; carrier secrets until `python manage.py reseal_carrier_secrets` rewrites
them). Unset, one key is derived from SECRET_KEY with HKDF-SHA256, so changing SECRET_KEY also
changes it: then give the old derived key in SMS_SEALING_KEY (`sealing_key_from_secret(old)`).
"""
import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "seal", "seal_json", "sealing_key_from_secret", "unseal", "unseal_json"]


def sealing_key_from_secret(secret_key: str) -> str:
    """The Fernet key derived from a SECRET_KEY (HKDF-SHA256, fixed info: one key per SECRET_KEY)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"smsplatform sealing v1").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    keys = keys or (sealing_key_from_secret(secret_key),)
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SMS_SEALING_KEYS), settings.SECRET_KEY)


def seal(text: str) -> str:
    return fernet().encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    """The clear text of a sealed token; InvalidToken if no key of the settings opens it."""
    return fernet().decrypt(token.encode("ascii")).decode()


def seal_json(value) -> str:
    return seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def unseal_json(token: str):
    return json.loads(unseal(token))
