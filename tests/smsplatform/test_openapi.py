"""The OpenAPI schema: valid, complete, served without keys, browsable offline, and the checker of
real answers (tests/openapi.py) catches an answer it does not document."""
import json
import re
from html.parser import HTMLParser
from importlib import reload

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, clear_url_caches, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from tests import openapi

ERROR_REF = "#/components/schemas/Error"
NO_KEYS = ("/1.1/date", "/1.1/captchaImage")


def test_spectacular_validates_the_schema_without_a_warning(tmp_path):
    GENERATOR_STATS.reset()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(tmp_path / "openapi.json"))
    schema = json.loads((tmp_path / "openapi.json").read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {"appId", "appKey", "appSign", "session"}


@pytest.mark.django_db
def test_the_schema_is_served_without_keys_at_openapi_json():
    response = Client().get("/openapi.json")
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    assert json.loads(response.content) == openapi.openapi_schema()


def api_routes():
    """(schema path, view class) of every route of the URLconf under /1.1/, the catch-all aside."""
    found, fallbacks = [], []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("1.1/"):
                view = getattr(pattern.callback, "cls", None)
                if view is None:
                    fallbacks.append(str(pattern.pattern))
                else:
                    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern))
                    found.append(("/" + route, view))

    walk(get_resolver().url_patterns, "")
    assert fallbacks == ["^.*$"], "only the catch-all 404 may be a plain Django view under /1.1/"
    return found


def view_methods(view) -> list[str]:
    return [m for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)]


def test_every_api_route_and_method_is_documented():
    paths = openapi.openapi_schema()["paths"]
    routes = api_routes()
    assert len(routes) >= 20
    for path, view in routes:
        assert path in paths, f"{path} ({view.__name__}) is not in the schema"
        for method in view_methods(view):
            operation = paths[path].get(method)
            assert operation, f"{method.upper()} {path} is not in the schema"
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where}: no @extend_schema(summary=...)"
            responses = operation["responses"]
            ok = [status for status in responses if status.startswith("2")]
            assert ok and all(responses[s].get("content") for s in ok), f"{where}: no 2xx answer with a body"
            errors = {s: r for s, r in responses.items() if s[0] in "45"}
            assert "500" in errors, f"{where}: the 500 answer is not documented"
            for status, answer in errors.items():
                assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, f"{where} {status}"
            if hasattr(view, "InputSerializer") and method != "delete":
                assert operation.get("requestBody") or operation.get("parameters"), f"{where}: input undocumented"
            if path in NO_KEYS:
                assert "security" not in operation and "401" not in responses, where
            else:
                assert operation["security"] and "401" in responses, f"{where}: its keys are undocumented"
    documented = {(path, method) for path, item in paths.items() for method in item}
    routed = {(path, method) for path, view in routes for method in view_methods(view)}
    assert documented == routed


@pytest.fixture
def mounted_under_sms(settings):
    import smsplatform.urls

    def remount(prefix):
        settings.API_PREFIX = prefix
        reload(smsplatform.urls)
        clear_url_caches()

    remount("sms")
    yield
    remount("")


def test_the_schema_follows_the_api_prefix(mounted_under_sms):
    GENERATOR_STATS.reset()
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "/sms/1.1/requestSmsCode" in paths and "/1.1/requestSmsCode" not in paths
    assert not GENERATOR_STATS
    assert openapi.find_template("/sms/1.1/users/me") == "/1.1/users/me"


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


@pytest.mark.django_db
def test_the_docs_page_needs_no_keys_and_no_cdn():
    response = Client().get("/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "/openapi.json" in page
    parser = Assets()
    parser.feed(page)
    assert any(url.endswith("swagger-ui-bundle.js") for url in parser.urls)
    assert any(url.endswith("swagger-ui.css") for url in parser.urls)
    for url in parser.urls:
        assert not re.match(r"^(https?:)?//", url), f"{url} is not served from here"
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not among the static files"
    with override_settings(WHITENOISE_USE_FINDERS=True):
        static = Client()  # a new handler: WhiteNoise reads its settings when it starts
        for url in parser.urls:
            asset = static.get(url)
            assert asset.status_code == 200, url
            assert b"".join(asset.streaming_content if asset.streaming else [asset.content])


def test_the_checker_accepts_documented_answers():
    openapi.check_response("post", "/1.1/requestSmsCode", JsonResponse({}))
    openapi.check_response("post", "/1.1/requestSmsCode?x=1", JsonResponse({"code": 127, "error": "x"}, status=400))
    openapi.check_response("get", "/1.1/noSuchThing", JsonResponse({"code": 1, "error": "not found"}, status=404))
    openapi.check_response("get", "/1.1/requestSmsCode", JsonResponse({"code": 1, "error": "no GET"}, status=405))
    openapi.check_response("get", "/sms/1.1/date", JsonResponse({"__type": "Date", "iso": "2024-01-02T03:04:05.678Z"}))
    openapi.check_response("get", "/admin/", HttpResponse("anything"))  # not the API


@pytest.mark.parametrize("method, path, planted, complaint", [
    ("post", "/1.1/requestSmsCode", JsonResponse({"code": "123456"}), "does not match"),
    ("get", "/1.1/users/me", JsonResponse({"username": "u", "emailVerified": False}), "'objectId' is a required"),
    ("get", "/1.1/date", JsonResponse({"__type": "Date", "iso": "2024-01-02 03:04:05"}), "does not match"),
    ("post", "/1.1/requestSmsCode", JsonResponse({"code": 1}, status=400), "'error' is a required"),
    ("post", "/1.1/requestSmsCode", JsonResponse({"code": 1, "error": "x"}, status=418), "status 418 is not documented"),
    ("post", "/1.1/requestSmsCode", HttpResponse("{}", content_type="text/plain"), "media type 'text/plain'"),
    ("post", "/1.1/noSuchThing", JsonResponse({}), "no such route"),
    ("delete", "/1.1/requestSmsCode", JsonResponse({}), "no DELETE"),
    ("post", "/1.1/users", JsonResponse({"objectId": "a" * 24, "createdAt": "2024-01-02T03:04:05.678Z",
                                          "sessionToken": "t"}, status=201), "the Location header is missing"),
])
def test_the_checker_catches_a_planted_answer_the_schema_does_not_document(method, path, planted, complaint):
    with pytest.raises(openapi.SchemaMismatch, match=re.escape(complaint)):
        openapi.check_response(method, path, planted)
