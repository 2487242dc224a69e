"""Secrets the service makes, and the digests it keeps of them: one place for every kind.

Everything random comes from the operating system's CSPRNG (`secrets`). A secret that is looked up
later (a session token, a captcha or validate token) is stored only as `digest(secret)`: looking a
row up by a SHA-256 leaks nothing useful about the secret, and a copy of the database holds no usable
one. A short secret that could be brute-forced offline from its SHA-256 (a six-digit code) is kept
as `keyed_digest`, useless without SECRET_KEY.
"""
import hashlib
import hmac
import secrets
import string
import time

from django.conf import settings

_ALPHANUMERIC = string.ascii_letters + string.digits
_LOWER_ALPHANUMERIC = string.ascii_lowercase + string.digits
SESSION_TOKEN_LENGTH = 25
TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def random_key(length: int = 24) -> str:
    """A LeanCloud-shaped key (app id, app key, master key, hook key): letters and digits."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def random_digits(length: int = 6) -> str:
    """A numeric code, e.g. a verification code."""
    return f"{secrets.randbelow(10 ** length):0{length}d}"


def new_object_id() -> str:
    """LeanCloud's objectId: 24 lowercase hexadecimal characters."""
    return secrets.token_hex(12)


def new_session_token() -> str:
    """LeanCloud's sessionToken: 25 lowercase letters and digits."""
    return "".join(secrets.choice(_LOWER_ALPHANUMERIC) for _ in range(SESSION_TOKEN_LENGTH))


def new_token() -> str:
    """An opaque bearer token (captcha and validate tokens)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The stored form of a long random secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def keyed_digest(message: str) -> str:
    """The stored form of a short secret: HMAC-SHA256 under SECRET_KEY."""
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def request_sign(secret: str, timestamp: str) -> str:
    """LeanCloud's request signature (X-LC-Sign): md5(timestamp + key), lowercase hex."""
    return hashlib.md5((timestamp + secret).encode()).hexdigest()


def sign_header(secret: str, *, master: bool = False, timestamp: str | None = None) -> str:
    """The X-LC-Sign value a client sends: `sign,timestamp[,master]`, timestamp in epoch milliseconds."""
    timestamp = timestamp or str(int(time.time() * 1000))
    return f"{request_sign(secret, timestamp)},{timestamp}" + (",master" if master else "")


def same_secret(given: str, expected: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())
