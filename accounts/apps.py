from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and apps"

    def ready(self):
        from . import selectors  # noqa: F401  (connects the app cache's invalidation on save)
        from . import schema  # noqa: F401  (names app-key authentication in the OpenAPI schema)
