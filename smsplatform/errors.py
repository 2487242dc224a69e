"""LeanCloud's errors and the one exception type that carries them to the client.

Every error a client can see is an `ErrorKind` in `Errors`: its code, its default text and its HTTP
status, decided here and nowhere else. Anything below a view raises `LeanCloudError(Errors.X)` (with
a more precise text where one helps); `exception_handler` turns it, and every other failure of the
API, into a non-2xx JSON body `{"code": <int>, "error": "<text>"}`.
"""
import logging
from dataclasses import dataclass

from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorKind:
    code: int
    text: str
    status: int = 400


class Errors:
    # Code 1 is LeanCloud's catch-all. The server's own failure is a 500; a caller's mistake that has
    # no code of its own (a bad ttl, too fast, international SMS off) is a 400 and says what was wrong.
    INTERNAL = ErrorKind(1, "Internal server error. No information available.", 500)
    BAD_REQUEST = ErrorKind(1, "Bad request.")
    NOT_FOUND = ErrorKind(1, "The requested resource was not found.", 404)
    INVALID_KEY_NAME = ErrorKind(105, "Invalid key name. Keys are case-sensitive. They must start with a letter, "
                                      "and a-zA-Z0-9_ are the only valid characters.")
    MALFORMED_JSON = ErrorKind(107, "Malformed json object. A json dictionary is expected.")
    # LeanCloud's (and Parse's) code for an object over its size limit; here a body or a user's custom fields.
    OBJECT_TOO_LARGE = ErrorKind(116, "The object is too large.", 413)
    OPERATION_FORBIDDEN = ErrorKind(119, "That operation isn't allowed for clients.", 403)
    INVALID_EMAIL = ErrorKind(125, "The email address was invalid.")
    INVALID_PHONE = ErrorKind(127, "The mobile phone number was invalid.")
    THRESHOLD_EXCEEDED = ErrorKind(154, "Exceeded an application threshold setting.")
    INSUFFICIENT_BALANCE = ErrorKind(160, "Insufficient balance.")
    USERNAME_MISSING = ErrorKind(200, "Username is missing or empty")
    PASSWORD_MISSING = ErrorKind(201, "Password is missing or empty.")
    USERNAME_TAKEN = ErrorKind(202, "Username has already been taken.")
    EMAIL_TAKEN = ErrorKind(203, "Email has already been taken.")
    SESSION_REQUIRED = ErrorKind(206, "The user cannot be altered by a client without the session.")
    PASSWORD_MISMATCH = ErrorKind(210, "The username and password mismatch.")
    USER_NOT_FOUND = ErrorKind(211, "Could not find user.")
    PHONE_MISSING = ErrorKind(212, "The mobile phone number is missing, and must be specified.")
    PHONE_USER_NOT_FOUND = ErrorKind(213, "A user with the specified mobile phone number was not found.")
    PHONE_TAKEN = ErrorKind(214, "Mobile phone number has already been taken.")
    PHONE_NOT_VERIFIED = ErrorKind(215, "Mobile phone number isn't verified.")
    LOGIN_LOCKED = ErrorKind(219, "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。")
    UNAUTHORIZED = ErrorKind(401, "Unauthorized.", 401)
    TOO_MANY_REQUESTS = ErrorKind(429, "Too many requests.", 429)
    INVALID_SIGNATURE = ErrorKind(600, "Invalid SMS signature.")
    SMS_TOO_FREQUENT = ErrorKind(601, "Can't send SMS too frequently.")
    SMS_SEND_FAILED = ErrorKind(602, "Fails to send message.")
    INVALID_SMS_CODE = ErrorKind(603, "Invalid SMS code.")
    TEMPLATE_NOT_FOUND = ErrorKind(604, "SMS template not found.")
    TEMPLATE_NOT_VERIFIED = ErrorKind(605, "SMS template not verified.")
    SIGNATURE_NOT_VERIFIED = ErrorKind(605, "SMS sign not verified")  # the contract's text, without a stop
    TEMPLATE_RENDER_FAILED = ErrorKind(606, "Fails to render SMS template.")
    MISSING_VALIDATE_TOKEN = ErrorKind(608, "Missing validate token.")


class LeanCloudError(Exception):
    def __init__(self, kind: ErrorKind, text: str | None = None):
        """`kind` decides the code and the status; `text`, when given, says more than the kind's own."""
        self.kind = kind
        self.code = kind.code
        self.status = kind.status
        self.message = text or kind.text
        super().__init__(f"{self.code}: {self.message}")

    def as_body(self):
        return {"code": self.code, "error": self.message}


def error_response(error: LeanCloudError) -> JsonResponse:
    """For plain Django views (404 fallbacks, handler500) outside DRF."""
    return JsonResponse(error.as_body(), status=error.status, json_dumps_params={"ensure_ascii": False})


def _translate(exc) -> LeanCloudError | None:
    if isinstance(exc, LeanCloudError):
        return exc
    if isinstance(exc, (Ratelimited, drf_exceptions.Throttled)):
        return LeanCloudError(Errors.TOO_MANY_REQUESTS)
    if isinstance(exc, (drf_exceptions.ParseError, drf_exceptions.UnsupportedMediaType)):
        return LeanCloudError(Errors.MALFORMED_JSON)
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return LeanCloudError(Errors.UNAUTHORIZED)
    if isinstance(exc, (Http404, drf_exceptions.NotFound)):
        return LeanCloudError(Errors.NOT_FOUND)
    if isinstance(exc, drf_exceptions.APIException):  # e.g. a method the route does not take: 405
        return LeanCloudError(ErrorKind(1, str(exc.detail), exc.status_code))
    return None


def exception_handler(exc, context):
    error = _translate(exc)
    if error is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "API", exc_info=exc)
        error = LeanCloudError(Errors.INTERNAL)
    return Response(error.as_body(), status=error.status)
