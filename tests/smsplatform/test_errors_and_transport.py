"""LeanCloud's errors and the wire every call shares: `smsplatform/errors.py`, `smsplatform/api.py`."""
import io
import json
import re

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from smsplatform.errors import ErrorKind, Errors
from tests.support import LeanCloudClient, assert_error, unique_phone

pytestmark = pytest.mark.django_db

# The error codes of the API contract (shared/spec/api-contract.md), spelled out apart from the code
# under test: `assert_error(response, Errors.X)` everywhere else trusts `Errors` because of this.
CONTRACT = {
    "INTERNAL": (1, "Internal server error. No information available.", 500),
    "MALFORMED_JSON": (107, "Malformed json object. A json dictionary is expected.", 400),
    "OPERATION_FORBIDDEN": (119, "That operation isn't allowed for clients.", 403),
    "INVALID_PHONE": (127, "The mobile phone number was invalid.", 400),
    "THRESHOLD_EXCEEDED": (154, "Exceeded an application threshold setting.", 400),
    "INSUFFICIENT_BALANCE": (160, "Insufficient balance.", 400),
    "USERNAME_MISSING": (200, "Username is missing or empty", 400),
    "PASSWORD_MISSING": (201, "Password is missing or empty.", 400),
    "USERNAME_TAKEN": (202, "Username has already been taken.", 400),
    "EMAIL_TAKEN": (203, "Email has already been taken.", 400),
    "SESSION_REQUIRED": (206, "The user cannot be altered by a client without the session.", 400),
    "PASSWORD_MISMATCH": (210, "The username and password mismatch.", 400),
    "USER_NOT_FOUND": (211, "Could not find user.", 400),
    "PHONE_MISSING": (212, "The mobile phone number is missing, and must be specified.", 400),
    "PHONE_USER_NOT_FOUND": (213, "A user with the specified mobile phone number was not found.", 400),
    "PHONE_TAKEN": (214, "Mobile phone number has already been taken.", 400),
    "PHONE_NOT_VERIFIED": (215, "Mobile phone number isn't verified.", 400),
    "LOGIN_LOCKED": (219, "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。", 400),
    "UNAUTHORIZED": (401, "Unauthorized.", 401),
    "TOO_MANY_REQUESTS": (429, "Too many requests.", 429),
    "INVALID_SIGNATURE": (600, "Invalid SMS signature.", 400),
    "SMS_TOO_FREQUENT": (601, "Can't send SMS too frequently.", 400),
    "SMS_SEND_FAILED": (602, "Fails to send message.", 400),
    "INVALID_SMS_CODE": (603, "Invalid SMS code.", 400),
    "TEMPLATE_NOT_FOUND": (604, "SMS template not found.", 400),
    "TEMPLATE_NOT_VERIFIED": (605, "SMS template not verified.", 400),
    "TEMPLATE_RENDER_FAILED": (606, "Fails to render SMS template.", 400),
    "MISSING_VALIDATE_TOKEN": (608, "Missing validate token.", 400),
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_each_error_kind_has_the_contracts_code_and_text(name):
    kind = getattr(Errors, name)
    assert (kind.code, kind.text, kind.status) == CONTRACT[name]


def test_every_error_is_non_2xx_with_a_non_zero_code():
    """The JS SDK takes any non-2xx for an error, the Python SDK any body holding `error`: both must agree."""
    kinds = [value for value in vars(Errors).values() if isinstance(value, ErrorKind)]
    assert kinds and all(kind.code != 0 and 400 <= kind.status < 600 for kind in kinds)


def test_server_date_needs_no_keys():
    response = LeanCloudClient().get("/1.1/date")
    assert response.status_code == 200
    body = response.json()
    assert body["__type"] == "Date"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["iso"])


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_unknown_route_is_a_json_404(lc, method):
    response = getattr(lc.client, method)("/1.1/noSuchThing", **lc.headers({}))
    assert_error(response, Errors.NOT_FOUND)


def test_wrong_method_is_a_json_405(lc):
    response = lc.get("/1.1/requestSmsCode")
    assert_error(response, ErrorKind(1, 'Method "GET" not allowed.', 405))


@pytest.mark.parametrize("raw", ["[1, 2]", "\"text\"", "42", "{not json", "\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_107(lc, raw):
    response = lc.request("post", "/1.1/requestSmsCode", raw=raw)
    assert_error(response, Errors.MALFORMED_JSON)


@pytest.mark.parametrize("raw", ["null", "", "  "])
def test_null_and_empty_bodies_read_as_empty(lc, raw):
    # An empty request is then missing its number: 212, not a parse error.
    response = lc.request("post", "/1.1/requestSmsCode", raw=raw)
    assert_error(response, Errors.PHONE_MISSING)


def test_query_string_parameters_ride_on_a_post(lc, outbox):
    phone = unique_phone()
    response = lc.post(f"/1.1/requestSmsCode?mobilePhoneNumber={phone.replace('+', '%2B')}", None)
    assert response.status_code == 200
    assert outbox.messages(phone)


def test_body_without_json_content_type_is_still_json(lc, outbox):
    phone = unique_phone()
    response = lc.client.post(
        "/1.1/requestSmsCode", data=f'{{"mobilePhoneNumber": "{phone}"}}',
        content_type="application/x-www-form-urlencoded", **lc.headers({}),
    )
    assert response.status_code == 200, response.content


def test_unexpected_exception_is_code_1_without_traceback(lc, monkeypatch):
    from sms import codes

    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(codes, "request_code", explode)
    response = lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone()})
    assert_error(response, Errors.INTERNAL)
    assert b"secret internals" not in response.content


def test_api_can_be_mounted_under_a_prefix(lc, settings):
    import importlib

    import smsplatform.urls

    settings.API_PREFIX = "sms"
    try:
        with override_settings(ROOT_URLCONF="smsplatform.urls"):
            importlib.reload(smsplatform.urls)
            clear_url_caches()
            assert lc.client.get("/sms/1.1/date").json()["__type"] == "Date"
            # Outside the API's mount, the site's own 404 (the API's JSON 404s are for the API's paths).
            assert lc.client.get("/1.1/date").status_code == 404
    finally:
        settings.API_PREFIX = ""
        importlib.reload(smsplatform.urls)
        clear_url_caches()


# --- the size of a request --------------------------------------------------------------------------

TOO_LARGE = ErrorKind(116, "The object is too large.", 413)


def test_a_body_over_the_limit_is_413_before_anything_is_done(lc, outbox, settings):
    assert settings.API_MAX_BODY_BYTES == 8192
    phone = unique_phone()
    body = json.dumps({"mobilePhoneNumber": phone, "padding": "x" * 10_000_000})
    response = lc.request("post", "/1.1/requestSmsCode", raw=body)
    assert_error(response, Errors.OBJECT_TOO_LARGE, "The request body is larger than 8192 bytes.")
    assert Errors.OBJECT_TOO_LARGE == TOO_LARGE
    assert outbox.messages() == []


def test_the_declared_length_is_checked_before_the_body_is_read(lc, settings):
    """A Content-Length over the limit is refused without reading a byte of the body."""
    settings.API_MAX_BODY_BYTES = 100

    class Unread(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    response = lc.request("post", "/1.1/requestSmsCode", raw="{}", CONTENT_LENGTH="10000000", **{"wsgi.input": Unread()})
    assert_error(response, Errors.OBJECT_TOO_LARGE, "The request body is larger than 100 bytes.")


def test_a_body_within_the_limit_is_read(lc, outbox, settings):
    settings.API_MAX_BODY_BYTES = 200
    phone = unique_phone()
    body = json.dumps({"mobilePhoneNumber": phone})
    body = body[:-1] + " " * (200 - len(body)) + "}"
    assert len(body.encode()) == 200
    assert lc.request("post", "/1.1/requestSmsCode", raw=body).status_code == 200
    assert_error(lc.request("post", "/1.1/requestSmsCode", raw=body[:-1] + " }"), Errors.OBJECT_TOO_LARGE,
                 "The request body is larger than 200 bytes.")


# --- client input that must never be a 500 ----------------------------------------------------------

def errors_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize("raw", ["[" * 1000 + "]" * 1000, '{"a": ' + "[" * 1000 + "]" * 1000 + "}",
                                 '{"a": ' + "[" * 33 + "]" * 33 + "}"], ids=["1000-deep", "1000-deep-in-object", "33-deep"])
def test_json_nested_too_deep_is_107(lc, caplog, raw):
    assert_error(lc.request("post", "/1.1/users", raw=raw), Errors.MALFORMED_JSON)
    assert errors_logged(caplog) == []


def test_json_nested_within_the_depth_limit_is_read(lc, settings):
    assert settings.API_MAX_JSON_DEPTH == 32
    deep = "[" * 31 + "]" * 31  # the body is the 32nd level
    response = lc.request("post", "/1.1/users", raw='{"username": "alice", "password": "pw", "deep": ' + deep + "}")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_numbers_json_has_no_place_for_are_107(lc, caplog, value):
    raw = '{"username": "alice", "password": "pw", "score": ' + value + "}"
    assert_error(lc.request("post", "/1.1/users", raw=raw), Errors.MALFORMED_JSON)
    assert_error(lc.request("post", "/1.1/users", raw='{"username": "a", "password": "p", "s": {"__op": "Increment", '
                                                      '"amount": ' + value + "}}"), Errors.MALFORMED_JSON)
    assert errors_logged(caplog) == []


NUL_TEXT = "Parameters may not contain NUL characters."


@pytest.mark.parametrize("body", [
    {"username": "al\u0000ice", "password": "pw"},
    {"username": "alice", "password": "pw", "nickname": "a\u0000"},
    {"username": "alice", "password": "pw", "profile": {"city\u0000": "x"}},
    {"username": "alice", "password": "pw", "tags": ["\u0000"]},
    {"username": "alice", "password": "pw", "email": "a\u0000@example.com"},
], ids=["username", "custom", "nested-key", "in-a-list", "email"])
def test_nul_characters_in_a_body_are_refused(lc, caplog, body):
    assert_error(lc.post("/1.1/users", body), Errors.BAD_REQUEST, NUL_TEXT)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("call", [
    lambda lc: lc.get("/1.1/login?username=%00&password=x"),
    lambda lc: lc.post("/1.1/requestSmsCode?name=a%00b", {"mobilePhoneNumber": unique_phone()}),
    lambda lc: lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": unique_phone(), "op": "\u0000"}),
    lambda lc: lc.get("/1.1/captchaImage?appId=%00&token=%00"),
], ids=["login-query", "sms-query", "sms-body", "captcha-image"])
def test_nul_characters_anywhere_in_the_parameters_are_refused(lc, caplog, outbox, call):
    assert_error(call(lc), Errors.BAD_REQUEST, NUL_TEXT)
    assert outbox.messages() == [] and errors_logged(caplog) == []


def test_a_nul_in_the_app_id_is_401(lc, caplog):
    response = LeanCloudClient().post("/1.1/verifySmsCode/123456", {"mobilePhoneNumber": unique_phone()},
                                      HTTP_X_LC_ID="app\u0000id", HTTP_X_LC_KEY="key")
    assert_error(response, Errors.UNAUTHORIZED)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("raw", ['{"username": "\\ud800", "password": "pw"}', '{"username": "a", "password": "pw", '
                                                                             '"x": "\\udfff\\ud800"}'])
def test_lone_surrogates_are_107(lc, caplog, raw):
    assert_error(lc.request("post", "/1.1/users", raw=raw), Errors.MALFORMED_JSON)
    assert errors_logged(caplog) == []


# --- a Host the service does not answer to ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/1.1/date", "/1.1/requestSmsCode", "/1.1/noSuchThing"])
def test_a_disallowed_host_is_a_json_400_under_the_api(lc, path):
    response = lc.client.post(path, data="{}", content_type="application/json", HTTP_HOST="evil.example", **lc.headers({}))
    assert_error(response, Errors.BAD_REQUEST, "Bad request: this server does not answer to that Host.")


def test_a_disallowed_host_elsewhere_is_djangos_own_400(client):
    response = client.get("/admin/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
