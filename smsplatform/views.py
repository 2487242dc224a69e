from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.urls import get_resolver
from django.views import defaults
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import Errors, LeanCloudError, error_response
from .formats import iso_date
from .schema import ISO_DATE, answers

SERVER_DATE = {
    "type": "object",
    "properties": {"__type": {"type": "string", "enum": ["Date"]}, "iso": {"type": "string", "pattern": ISO_DATE}},
    "required": ["__type", "iso"],
    "additionalProperties": False,
}


class ServerDateView(APIView):
    """GET /1.1/date: needs no keys (the Python SDK's get_server_time sends none)."""

    authentication_classes = []

    @extend_schema(summary="The server's time", tags=["Server"], responses=answers({200: SERVER_DATE}, authenticated=False))
    def get(self, request):
        return Response({"__type": "Date", "iso": iso_date(timezone.now())})


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return error_response(LeanCloudError(Errors.NOT_FOUND))


def server_error(request, *args, **kwargs):
    return error_response(LeanCloudError(Errors.INTERNAL))


def api_root() -> str:
    """Where the API is mounted: `1.1/`, or `<API_PREFIX>/1.1/`."""
    return f"{settings.API_PREFIX}/1.1/" if settings.API_PREFIX else "1.1/"


HOST_REFUSED = "Bad request: this server does not answer to that Host."


def bad_request(request, exception=None, *args, **kwargs):
    """Django's 400 (a disallowed Host, too many fields, ...): under the API a LeanCloud error, as every
    other error there is; Django's own page elsewhere (the admin)."""
    if not request.path.startswith("/" + api_root()):
        return defaults.bad_request(request, exception)
    text = HOST_REFUSED if isinstance(exception, DisallowedHost) else None
    return error_response(LeanCloudError(Errors.BAD_REQUEST, text))


class OpenAPISchemaView(SpectacularJSONAPIView):
    """GET /openapi.json: the OpenAPI 3 schema of the whole `/1.1/` API, without keys.

    Generated once per URLconf and process (as `manage.py spectacular` would), not per request.
    """

    _generated: tuple = (None, None)  # (the URL resolver it was made for, the schema)

    def _get_schema_response(self, request):
        resolver, schema = OpenAPISchemaView._generated
        if resolver is not get_resolver():
            schema = self.generator_class(urlconf=self.urlconf).get_schema(request=None, public=True)
            OpenAPISchemaView._generated = (get_resolver(), schema)
        return Response(schema, headers={"Content-Disposition": 'inline; filename="openapi.json"'})


class DocsView(SpectacularSwaggerView):
    """GET /docs/: Swagger UI on /openapi.json, its files served from here (no CDN)."""

    url_name = "openapi-schema"
