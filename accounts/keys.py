import secrets
import string

_ALPHANUMERIC = string.ascii_letters + string.digits


def random_key(length: int = 24) -> str:
    """A LeanCloud-shaped key: `length` letters and digits from a CSPRNG."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def random_digits(length: int = 6) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))
