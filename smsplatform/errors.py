"""LeanCloud's error codes and the one exception type that carries them to the client.

Anything below a view raises `LeanCloudError`; `exception_handler` turns it, and every other
failure of the API, into a non-2xx JSON body `{"code": <int>, "error": "<text>"}`.
"""
import logging

from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ErrorCode:
    INTERNAL = 1
    MALFORMED_JSON = 107
    OPERATION_FORBIDDEN = 119
    INVALID_PHONE = 127
    THRESHOLD_EXCEEDED = 154
    INSUFFICIENT_BALANCE = 160
    USERNAME_MISSING = 200
    PASSWORD_MISSING = 201
    USERNAME_TAKEN = 202
    EMAIL_TAKEN = 203
    SESSION_REQUIRED = 206
    PASSWORD_MISMATCH = 210
    USER_NOT_FOUND = 211
    PHONE_MISSING = 212
    PHONE_USER_NOT_FOUND = 213
    PHONE_TAKEN = 214
    PHONE_NOT_VERIFIED = 215
    LOGIN_LOCKED = 219
    UNAUTHORIZED = 401
    TOO_MANY_REQUESTS = 429
    INVALID_SIGNATURE = 600
    SMS_TOO_FREQUENT = 601
    SMS_SEND_FAILED = 602
    INVALID_SMS_CODE = 603
    TEMPLATE_NOT_FOUND = 604
    TEMPLATE_NOT_VERIFIED = 605
    TEMPLATE_RENDER_FAILED = 606
    MISSING_VALIDATE_TOKEN = 608


DEFAULT_MESSAGES = {
    ErrorCode.INTERNAL: "Internal server error. No information available.",
    ErrorCode.MALFORMED_JSON: "Malformed json object. A json dictionary is expected.",
    ErrorCode.OPERATION_FORBIDDEN: "That operation isn't allowed for clients.",
    ErrorCode.INVALID_PHONE: "The mobile phone number was invalid.",
    ErrorCode.THRESHOLD_EXCEEDED: "Exceeded an application threshold setting.",
    ErrorCode.INSUFFICIENT_BALANCE: "Insufficient balance.",
    ErrorCode.USERNAME_MISSING: "Username is missing or empty",
    ErrorCode.PASSWORD_MISSING: "Password is missing or empty.",
    ErrorCode.USERNAME_TAKEN: "Username has already been taken.",
    ErrorCode.EMAIL_TAKEN: "Email has already been taken.",
    ErrorCode.SESSION_REQUIRED: "The user cannot be altered by a client without the session.",
    ErrorCode.PASSWORD_MISMATCH: "The username and password mismatch.",
    ErrorCode.USER_NOT_FOUND: "Could not find user.",
    ErrorCode.PHONE_MISSING: "The mobile phone number is missing, and must be specified.",
    ErrorCode.PHONE_USER_NOT_FOUND: "A user with the specified mobile phone number was not found.",
    ErrorCode.PHONE_TAKEN: "Mobile phone number has already been taken.",
    ErrorCode.PHONE_NOT_VERIFIED: "Mobile phone number isn't verified.",
    ErrorCode.LOGIN_LOCKED: "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。",
    ErrorCode.UNAUTHORIZED: "Unauthorized.",
    ErrorCode.TOO_MANY_REQUESTS: "Too many requests.",
    ErrorCode.INVALID_SIGNATURE: "Invalid SMS signature.",
    ErrorCode.SMS_TOO_FREQUENT: "Can't send SMS too frequently.",
    ErrorCode.SMS_SEND_FAILED: "Fails to send message.",
    ErrorCode.INVALID_SMS_CODE: "Invalid SMS code.",
    ErrorCode.TEMPLATE_NOT_FOUND: "SMS template not found.",
    ErrorCode.TEMPLATE_NOT_VERIFIED: "SMS template not verified.",
    ErrorCode.TEMPLATE_RENDER_FAILED: "Fails to render SMS template.",
    ErrorCode.MISSING_VALIDATE_TOKEN: "Missing validate token.",
}

DEFAULT_STATUS = {
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.OPERATION_FORBIDDEN: 403,
    ErrorCode.TOO_MANY_REQUESTS: 429,
}


class LeanCloudError(Exception):
    def __init__(self, code, message=None, status=None):
        """Code 1 without a message is the server's fault (500); with one, the caller's (400)."""
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, DEFAULT_MESSAGES[ErrorCode.INTERNAL])
        if status is None:
            status = 500 if code == ErrorCode.INTERNAL and message is None else DEFAULT_STATUS.get(code, 400)
        self.status = status
        super().__init__(f"{self.code}: {self.message}")

    def as_body(self):
        return {"code": self.code, "error": self.message}


def error_response(error: LeanCloudError) -> JsonResponse:
    """For plain Django views (404 fallbacks, handler500) outside DRF."""
    return JsonResponse(error.as_body(), status=error.status, json_dumps_params={"ensure_ascii": False})


def _translate(exc) -> LeanCloudError | None:
    if isinstance(exc, LeanCloudError):
        return exc
    if isinstance(exc, Ratelimited):
        return LeanCloudError(ErrorCode.TOO_MANY_REQUESTS)
    if isinstance(exc, drf_exceptions.ParseError):
        return LeanCloudError(ErrorCode.MALFORMED_JSON)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return LeanCloudError(ErrorCode.MALFORMED_JSON)
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return LeanCloudError(ErrorCode.UNAUTHORIZED)
    if isinstance(exc, (Http404, drf_exceptions.NotFound)):
        return LeanCloudError(ErrorCode.INTERNAL, "The requested resource was not found.", 404)
    if isinstance(exc, drf_exceptions.Throttled):
        return LeanCloudError(ErrorCode.TOO_MANY_REQUESTS)
    if isinstance(exc, drf_exceptions.APIException):
        return LeanCloudError(ErrorCode.INTERNAL, str(exc.detail), exc.status_code)
    return None


def exception_handler(exc, context):
    error = _translate(exc)
    if error is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "API", exc_info=exc)
        error = LeanCloudError(ErrorCode.INTERNAL)
    return Response(error.as_body(), status=error.status)
