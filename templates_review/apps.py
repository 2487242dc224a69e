from django.apps import AppConfig


class TemplatesReviewConfig(AppConfig):
    name = "templates_review"
    verbose_name = "Signatures and templates"
