import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.arguments import app_from_argument, describe
from accounts.services.app_settings import update_app_settings


class Command(BaseCommand):
    help = "Print an app's settings as JSON; NAME=VALUE arguments change those settings first."

    def add_arguments(self, parser):
        parser.add_argument("app_id")
        parser.add_argument("changes", nargs="*", metavar="NAME=VALUE")

    def handle(self, *args, **options):
        app = app_from_argument(options["app_id"])
        changes = {}
        for item in options["changes"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"{item!r} is not NAME=VALUE.")
            changes[name] = value
        if changes:
            try:
                update_app_settings(app=app, changes=changes)
            except ValidationError as exc:
                raise CommandError(describe(exc))
        self.stdout.write(json.dumps({"appId": app.app_id, **app.settings_dict()}, ensure_ascii=False, indent=2,
                                     default=str))
