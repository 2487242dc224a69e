import pytest
from django.contrib.auth.hashers import get_hashers

from tests.support import LeanCloudClient, make_app


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


@pytest.fixture
def client_of(db, django_capture_on_commit_callbacks):
    """A client of another app, e.g. `client_of(make_app(force_captcha=True))`."""
    def make(app, master=False):
        return LeanCloudClient(app, master=master, capture=django_capture_on_commit_callbacks)

    return make


@pytest.fixture
def app_with(db):
    return make_app
