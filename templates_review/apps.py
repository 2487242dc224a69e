from django.apps import AppConfig


class TemplatesReviewConfig(AppConfig):
    name = "templates_review"
    verbose_name = "Signatures and templates"

    def ready(self):
        # Receivers: a new app's default signature (services), forgetting cached signatures and
        # templates when they change (selectors).
        from . import selectors, services  # noqa: F401
