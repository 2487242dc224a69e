"""App-key authentication of LeanCloud clients: X-LC-Id with X-LC-Key or X-LC-Sign (signed within
REQUEST_SIGN_MAX_SKEW_SECONDS of now)."""
import time
from dataclasses import dataclass

from django.conf import settings

from rest_framework.authentication import BaseAuthentication

from smsplatform.errors import Errors, LeanCloudError
from smsplatform.tokens import request_sign, same_secret

from .models import App
from .selectors import app_by_app_id

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


def session_token(request) -> str:
    """The end user's session token the request carries (X-LC-Session), or ""."""
    return header(request.META, SESSION_HEADERS)


def credentials_from_key(app: App, value: str) -> AppCredentials | None:
    """`X-LC-Key: <appKey>` or `<masterKey>,master`; None when it does not match."""
    key, _, role = value.partition(",")
    if role == "master":
        return AppCredentials(app, is_master=True) if same_secret(key, app.master_key) else None
    if role:
        return None
    return AppCredentials(app, is_master=False) if same_secret(key, app.app_key) else None


def fresh(timestamp: str) -> bool:
    """Whether a sign's timestamp (epoch milliseconds; the SDKs sign with the current time) is within
    REQUEST_SIGN_MAX_SKEW_SECONDS of now, either way: an old sign seen once is not a key for ever."""
    if not (timestamp.isdigit() and len(timestamp) <= 16):
        return False
    return abs(time.time() * 1000 - int(timestamp)) <= settings.REQUEST_SIGN_MAX_SKEW_SECONDS * 1000


def credentials_from_sign(app: App, value: str) -> AppCredentials | None:
    """`X-LC-Sign: md5(ts + key),ts[,master]`; None when it does not match."""
    parts = value.split(",")
    if len(parts) == 3 and parts[2] == "master":
        digest, timestamp, secret, is_master = parts[0], parts[1], app.master_key, True
    elif len(parts) == 2:
        digest, timestamp, secret, is_master = parts[0], parts[1], app.app_key, False
    else:
        return None
    if not fresh(timestamp):
        return None
    return AppCredentials(app, is_master=is_master) if same_secret(digest.lower(), request_sign(secret, timestamp)) else None


def authenticate_app(meta) -> AppCredentials:
    app_id = header(meta, ID_HEADERS)
    app = app_by_app_id(app_id) if app_id else None
    if app is not None:
        signed, key = header(meta, SIGN_HEADERS), header(meta, KEY_HEADERS)
        credentials = (credentials_from_sign(app, signed) if signed
                       else credentials_from_key(app, key) if key else None)
        if credentials is not None:
            return credentials
    raise LeanCloudError(Errors.UNAUTHORIZED)


class AppKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return (None, authenticate_app(request.META))

    def authenticate_header(self, request):
        return "X-LC-Sign"
