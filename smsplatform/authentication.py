"""App-key authentication of LeanCloud clients: X-LC-Id with X-LC-Key or X-LC-Sign."""
import hashlib
import hmac
from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication

from accounts.models import App
from accounts.selectors import app_by_app_id

from .errors import ErrorCode, LeanCloudError

# Each header, then its legacy X-AVOSCloud-* twin, as Django's META names them.
ID_HEADERS = ("HTTP_X_LC_ID", "HTTP_X_AVOSCLOUD_APPLICATION_ID")
KEY_HEADERS = ("HTTP_X_LC_KEY", "HTTP_X_AVOSCLOUD_APPLICATION_KEY")
SIGN_HEADERS = ("HTTP_X_LC_SIGN", "HTTP_X_AVOSCLOUD_REQUEST_SIGN")
SESSION_HEADERS = ("HTTP_X_LC_SESSION", "HTTP_X_AVOSCLOUD_SESSION_TOKEN")


@dataclass(frozen=True)
class AppCredentials:
    app: App
    is_master: bool


def header(meta, names) -> str:
    for name in names:
        value = meta.get(name)
        if value:
            return value.strip()
    return ""


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check_key(app: App, value: str) -> bool | None:
    """`X-LC-Key: <appKey>` or `<masterKey>,master`: is_master, or None when it does not match."""
    key, _, role = value.partition(",")
    if role == "master":
        return True if _same(key, app.master_key) else None
    if role:
        return None
    return False if _same(key, app.app_key) else None


def check_sign(app: App, value: str) -> bool | None:
    """`X-LC-Sign: md5(ts + key),ts[,master]`: is_master, or None when it does not match."""
    parts = value.split(",")
    if len(parts) == 3 and parts[2] == "master":
        digest, timestamp, secret, is_master = parts[0], parts[1], app.master_key, True
    elif len(parts) == 2:
        digest, timestamp, secret, is_master = parts[0], parts[1], app.app_key, False
    else:
        return None
    if not timestamp.isdigit():
        return None
    expected = hashlib.md5((timestamp + secret).encode()).hexdigest()
    return is_master if _same(digest.lower(), expected) else None


def authenticate_app(meta) -> AppCredentials:
    app_id = header(meta, ID_HEADERS)
    app = app_by_app_id(app_id) if app_id else None
    if app is not None:
        sign = header(meta, SIGN_HEADERS)
        key = header(meta, KEY_HEADERS)
        is_master = check_sign(app, sign) if sign else check_key(app, key) if key else None
        if is_master is not None:
            return AppCredentials(app=app, is_master=is_master)
    raise LeanCloudError(ErrorCode.UNAUTHORIZED)


class AppKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return (None, authenticate_app(request.META))

    def authenticate_header(self, request):
        return "X-LC-Sign"
