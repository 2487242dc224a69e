from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and apps"

    def ready(self):
        from . import selectors  # noqa: F401  (connects the app cache's invalidation on save)
