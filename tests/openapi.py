"""Real answers checked against the OpenAPI schema (Zulip's `validate_against_openapi_schema`).

`check_response(method, path, response)` raises `SchemaMismatch` unless the schema documents the
answer: its path template and method, its status code, its media type, its JSON body (`$ref`s
resolved) and the headers it must carry. The two answers the service gives outside any route are
checked too: an unknown path is a 404 and a method the route does not take a 405, both the `Error`
body. `tests.support.LeanCloudClient` checks every answer it gets (`checked`), so every in-process API call of
the suite keeps the schema true.

The schema is generated once per test session, in-process, as `manage.py spectacular` makes it.
Paths are compared from their `/1.1/` on, so an API mounted under a prefix is checked the same way.
"""
import functools
import json
import re
from urllib.parse import urlsplit

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

API_ROOT = "/1.1/"
SCHEMA_URI = "urn:smsplatform:openapi"
ERROR_SCHEMA = "/components/schemas/Error"


class SchemaMismatch(AssertionError):
    pass


@functools.cache
def openapi_schema() -> dict:
    """The schema of the whole API, as plain JSON (what /openapi.json serves)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def api_path(path: str) -> str | None:
    """`path` from its `/1.1/` on (without the query), or None for a path outside the API."""
    path = urlsplit(path).path
    at = path.find(API_ROOT)
    return path[at:] if at >= 0 else None


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    """(regex, schema path) of every documented path, literal paths first (`users/me` before `users/{id}`)."""
    found = []
    for template in openapi_schema()["paths"]:
        relative = api_path(template)
        regex = re.escape(relative)
        regex = re.sub(r"\\\{\w+\\\}", "[^/]+", regex)
        found.append((template.count("{"), re.compile(f"^{regex}$"), template))
    return [(regex, template) for _, regex, template in sorted(found, key=lambda item: item[0])]


def find_template(path: str) -> str | None:
    relative = api_path(path)
    for regex, template in _templates():
        if regex.match(relative):
            return template
    return None


def _pointer(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def _validator(pointer: str) -> Draft4Validator:
    registry = Registry().with_resource(SCHEMA_URI, Resource.from_contents(openapi_schema(), default_specification=DRAFT4))
    return Draft4Validator({"$ref": f"{SCHEMA_URI}#{pointer}"}, registry=registry)


def _validate_body(pointer: str, response, where: str) -> None:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise SchemaMismatch(f"{where}: the body is not JSON: {response.content[:200]!r}")
    errors = sorted(_validator(pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n".join(f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10])
        raise SchemaMismatch(f"{where}: the body does not match its schema ({pointer}):\n{lines}\nbody: {body!r}")


def _media_type(response) -> str:
    return (response.get("Content-Type") or "").split(";")[0].strip()


def _check_error(response, where: str, status: int) -> None:
    if response.status_code != status or _media_type(response) != "application/json":
        raise SchemaMismatch(f"{where}: not in the schema (answered {response.status_code} {_media_type(response)})")
    _validate_body(ERROR_SCHEMA, response, where)


def checked(method: str, path: str, response):
    """`response`, once `check_response` found it documented."""
    check_response(method, path, response)
    return response


def check_response(method: str, path: str, response) -> None:
    """Raise SchemaMismatch unless the schema documents `response` to `method path`."""
    if api_path(path) is None:
        return  # not the API (the admin, /openapi.json, /docs/, static files)
    method = method.lower()
    where = f"{method.upper()} {urlsplit(path).path} -> {response.status_code}"
    template = find_template(path)
    if template is None:
        return _check_error(response, f"{where} (no such route)", 404)
    item = openapi_schema()["paths"][template]
    if method not in item:
        return _check_error(response, f"{where} (no {method.upper()} on {template})", 405)
    responses = item[method]["responses"]
    status = str(response.status_code)
    if status not in responses:
        raise SchemaMismatch(f"{where}: status {status} is not documented for {method.upper()} {template} "
                             f"(documented: {', '.join(responses)}); body: {response.content[:300]!r}")
    documented = responses[status]
    for name, header in documented.get("headers", {}).items():
        if header.get("required") and not response.has_header(name):
            raise SchemaMismatch(f"{where}: the {name} header is missing")
    content = documented.get("content", {})
    media_type = _media_type(response)
    if not content:
        if response.content:
            raise SchemaMismatch(f"{where}: documented without a body, answered {response.content[:200]!r}")
        return
    if media_type not in content:
        raise SchemaMismatch(f"{where}: media type {media_type!r} is not documented ({', '.join(content)})")
    if media_type == "application/json":
        _validate_body(_pointer("paths", template, method, "responses", status, "content", media_type, "schema"),
                       response, where)
