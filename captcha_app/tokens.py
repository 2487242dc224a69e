"""Captcha and validate tokens: random, and kept only as digests.

Looking a token up by its SHA-256 makes the lookup leak nothing useful about the token, which is
what comparing it in constant time is for; a copy of the database holds no usable token.
"""
import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
