from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
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

