"""What a captcha asks: random characters, drawn by django-simple-captcha.

The library's own challenge functions use `random`, which its image view re-seeds; ours draws from
the operating system's CSPRNG and leaves out characters people confuse (0/O, 1/I/L).
"""
import secrets

from captcha.conf import settings as captcha_settings

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def random_challenge(length: int | None = None) -> tuple[str, str]:
    """(text shown, expected answer) in django-simple-captcha's form; answers compare lowercased."""
    text = "".join(secrets.choice(ALPHABET) for _ in range(length or captcha_settings.CAPTCHA_LENGTH))
    return text, text.lower()
