from django.contrib import admin
from django.urls import include, path, re_path

from . import views
from .admin_tools import ThrottledAdminAuthenticationForm

# The admin's login counts failures and locks out guessers.
admin.site.login_form = ThrottledAdminAuthenticationForm

api_urlpatterns = [
    path("date", views.ServerDateView.as_view()),
    path("", include("sms.urls")),
    path("", include("templates_review.urls")),
    path("", include("accounts.user_api.urls")),
    path("", include("captcha_app.urls")),
    # Every other path of the API is a LeanCloud-style 404, whatever DEBUG says.
    re_path(r"^.*$", views.api_not_found),
]

api_root = views.api_root()

urlpatterns = [
    path("admin/", admin.site.urls),
    # The schema of the API and its browsable page: outside the API's catch-all, no keys needed.
    path("openapi.json", views.OpenAPISchemaView.as_view(), name="openapi-schema"),
    path("docs/", views.DocsView.as_view(), name="openapi-docs"),
    path("", include("sms.callback_urls")),  # /carriers/<name>/receipts: carriers' delivery reports
    path(api_root, include(api_urlpatterns)),
]

handler400 = "smsplatform.views.bad_request"
handler500 = "smsplatform.views.server_error"
