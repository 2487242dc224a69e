from django.urls import path

from . import views

urlpatterns = [
    path("requestSmsCode", views.RequestSmsCodeView.as_view()),
    path("verifySmsCode/<str:code>", views.VerifySmsCodeView.as_view()),
]
