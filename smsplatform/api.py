"""What every authenticated `/1.1/` view shares."""
from rest_framework.views import APIView


class LeanCloudView(APIView):
    """Base of every authenticated `/1.1/` view: `request.auth` is the caller's `AppCredentials`
    (`accounts.authentication`)."""

    def params(self, request) -> dict:
        """The call's parameters: query string first, the JSON body over it."""
        merged = {key: request.query_params.get(key) for key in request.query_params}
        merged.update(request.data)
        return merged
