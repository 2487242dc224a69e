"""App-key authentication and end users' sessions as the OpenAPI schema names them
(`smsplatform.schema`; the schemes themselves are in SPECTACULAR_SETTINGS)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings

# X-LC-Id with X-LC-Key, or X-LC-Id with X-LC-Sign (what the SDKs send).
APP_KEYS = [{"appId": [], "appKey": []}, {"appId": [], "appSign": []}]
# The same, with the end user's X-LC-Session.
WITH_SESSION = [{**keys, "session": []} for keys in APP_KEYS]


class AppKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AppKeyAuthentication"
    name = ["appId", "appKey", "appSign"]

    def get_security_requirement(self, auto_schema):
        return APP_KEYS

    def get_security_definition(self, auto_schema):
        schemes = spectacular_settings.APPEND_COMPONENTS["securitySchemes"]
        return [schemes[name] for name in self.name]
