"""What every `/1.1/` view shares."""
from rest_framework.views import APIView

from .wire import refuse_nul


class LeanCloudView(APIView):
    """Base of every `/1.1/` view that takes parameters: `request.auth` is the caller's
    `AppCredentials` (`accounts.authentication`). A NUL in the query string is refused (code 1), as
    in the body (`smsplatform.wire`)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for key, values in request.query_params.lists():
            refuse_nul(key)
            for value in values:
                refuse_nul(value)

    def params(self, request) -> dict:
        """The call's parameters: query string first, the JSON body over it."""
        merged = {key: request.query_params.get(key) for key in request.query_params}
        merged.update(request.data)
        return merged
