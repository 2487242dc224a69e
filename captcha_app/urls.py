from django.urls import path

from . import views

urlpatterns = [
    path("requestCaptcha", views.RequestCaptchaView.as_view()),
    path("verifyCaptcha", views.VerifyCaptchaView.as_view()),
    # Not django-simple-captcha's "captcha-image", which its helpers reverse with a key.
    path("captchaImage", views.CaptchaImageView.as_view(), name="leancloud-captcha-image"),
]
