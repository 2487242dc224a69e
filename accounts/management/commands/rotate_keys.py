import json

from django.core.management.base import BaseCommand

from accounts.management.arguments import app_from_argument
from accounts.services.app_settings import rotate_keys


class Command(BaseCommand):
    help = ("Give an app new keys (by default its app key and master key) and print them as JSON; "
            "the old keys are refused at once.")

    def add_arguments(self, parser):
        parser.add_argument("app_id")
        parser.add_argument("--app-key", action="store_true", help="Rotate the app key.")
        parser.add_argument("--master-key", action="store_true", help="Rotate the master key.")
        parser.add_argument("--hook-key", action="store_true",
                            help="Rotate the hook key (then give the engine its new LEANCLOUD_APP_HOOK_KEY).")

    def handle(self, *args, **options):
        app = app_from_argument(options["app_id"])
        keys = tuple(key for key in ("app_key", "master_key", "hook_key") if options[key])
        app = rotate_keys(app=app, keys=keys or ("app_key", "master_key"))
        shown = {"appId": app.app_id, "appKey": app.app_key, "masterKey": app.master_key}
        if "hook_key" in keys:
            shown["hookKey"] = app.hook_key
        self.stdout.write(json.dumps(shown))
