"""What the accounts commands share: finding the app they are given, saying what was wrong."""
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import App


def app_from_argument(app_id: str) -> App:
    app = App.objects.filter(app_id=app_id).first()
    if app is None:
        raise CommandError(f"No app with id {app_id!r}.")
    return app


def describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)
