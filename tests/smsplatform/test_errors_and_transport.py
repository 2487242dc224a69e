import re

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from tests.support import LeanCloudClient, unique_phone

pytestmark = pytest.mark.django_db


def test_server_date_needs_no_keys():
    response = LeanCloudClient().get("/1.1/date")
    assert response.status_code == 200
    body = response.json()
    assert body["__type"] == "Date"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["iso"])


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_unknown_route_is_a_json_404(lc, method):
    response = getattr(lc.client, method)("/1.1/noSuchThing", **lc.headers({}))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == 1


def test_wrong_method_is_a_json_405(lc):
    response = lc.get("/1.1/requestSmsCode")
    assert response.status_code == 405
    assert response.json()["code"] == 1


@pytest.mark.parametrize("raw", ["[1, 2]", "\"text\"", "42", "{not json", "\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_107(lc, raw):
    response = lc.request("post", "/1.1/requestSmsCode", raw=raw)
    assert response.status_code == 400
    assert response.json() == {"code": 107, "error": "Malformed json object. A json dictionary is expected."}


@pytest.mark.parametrize("raw", ["null", "", "  "])
def test_null_and_empty_bodies_read_as_empty(lc, raw):
    # An empty request is then missing its number: 212, not a parse error.
    response = lc.request("post", "/1.1/requestSmsCode", raw=raw)
    assert response.json()["code"] == 212


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
    assert response.status_code == 500
    assert response.json() == {"code": 1, "error": "Internal server error. No information available."}
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
            assert lc.client.get("/1.1/date").status_code == 404
    finally:
        settings.API_PREFIX = ""
        importlib.reload(smsplatform.urls)
        clear_url_caches()
