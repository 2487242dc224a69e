from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "sms"
    verbose_name = "SMS"

    def ready(self):
        from .carriers.registry import connect_signals

        connect_signals()
