from django.apps import AppConfig


class CaptchaAppConfig(AppConfig):
    name = "captcha_app"
    verbose_name = "Captcha"
