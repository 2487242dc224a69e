from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "sms"
    verbose_name = "SMS"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .carriers.registry import connect_signals
        from .charging import seed_default_prices

        connect_signals()
        post_migrate.connect(seed_default_prices, sender=self)
