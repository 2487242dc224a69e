import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.arguments import describe
from accounts.models import Account
from accounts.services.app_settings import create_app


class Command(BaseCommand):
    help = "Create an app and print its keys as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--app-id", default="")
        parser.add_argument("--app-key", default="")
        parser.add_argument("--master-key", default="")
        parser.add_argument("--account", default=None, help="Name of the owning account (made if missing).")

    def handle(self, *args, **options):
        account = None
        if options["account"]:
            account, _ = Account.objects.get_or_create(name=options["account"])
        try:
            app = create_app(
                name=options["name"], account=account, app_id=options["app_id"],
                app_key=options["app_key"], master_key=options["master_key"],
            )
        except ValidationError as exc:
            raise CommandError(describe(exc))
        self.stdout.write(json.dumps({"appId": app.app_id, "appKey": app.app_key, "masterKey": app.master_key}))

