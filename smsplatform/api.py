"""What every authenticated `/1.1/` view shares."""
from django.conf import settings
from django_ratelimit.core import is_ratelimited
from rest_framework.views import APIView

from .errors import ErrorCode, LeanCloudError


class LeanCloudView(APIView):
    """Base of every authenticated `/1.1/` view: `request.auth` is the caller's `AppCredentials`."""

    def params(self, request) -> dict:
        """The call's parameters: query string first, the JSON body over it."""
        merged = {key: request.query_params.get(key) for key in request.query_params}
        merged.update(request.data)
        return merged


def enforce_ip_flow_control(request, group: str, rate: str | None) -> None:
    """Per-client-IP flow control (django-ratelimit): raise 429 past `rate`, e.g. "100/m"."""
    if not rate or not settings.RATELIMIT_ENABLE:
        return
    if is_ratelimited(request, group=group, key="ip", rate=rate, increment=True):
        raise LeanCloudError(ErrorCode.TOO_MANY_REQUESTS)
