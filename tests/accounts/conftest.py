import pytest
from django.contrib.auth.hashers import get_hashers


@pytest.fixture(autouse=True)
def _quick_password_hashes(request, settings):
    """PBKDF2's million rounds cost a fifth of a second a password: most tests only need some hash.

    A test that asks for `real_password_hashers` keeps the project's own list.
    """
    if "real_password_hashers" in request.fixturenames:
        yield
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()
    yield
    get_hashers.cache_clear()


@pytest.fixture
def real_password_hashers():
    get_hashers.cache_clear()
    yield
    get_hashers.cache_clear()
