from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from . import views

api_urlpatterns = [
    path("date", views.ServerDateView.as_view()),
    path("", include("sms.urls")),
    path("", include("accounts.user_api.urls")),
    path("", include("captcha_app.urls")),
    # Every other path of the API is a LeanCloud-style 404, whatever DEBUG says.
    re_path(r"^.*$", views.api_not_found),
]

api_root = f"{settings.API_PREFIX}/1.1/" if settings.API_PREFIX else "1.1/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("sms.callback_urls")),  # /carriers/<name>/receipts: carriers' delivery reports
    path(api_root, include(api_urlpatterns)),
]

handler500 = "smsplatform.views.server_error"
