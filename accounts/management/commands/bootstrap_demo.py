import json
import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account, App
from accounts.services import money
from accounts.services.app_settings import create_app

DEMO_ACCOUNT = "demo"
DEMO_APP_NAME = "Demo商城"  # a valid signature (not letters only): the demo app signs with its name


class Command(BaseCommand):
    help = "For a laptop: make (once) a demo app and an admin login, and print both."

    def add_arguments(self, parser):
        parser.add_argument("--admin-user", default=os.environ.get("ADMIN_USER", "admin"))
        parser.add_argument("--admin-password", default=os.environ.get("ADMIN_PASSWORD", "admin"))

    def handle(self, *args, **options):
        account, created = Account.objects.get_or_create(name=DEMO_ACCOUNT)
        if created:  # beside the free quota, something to try voice codes and international SMS with
            money.recharge(account=account, amount="10", reason="demo", gift=True)
        app = App.objects.filter(account=account).first() or create_app(name=DEMO_APP_NAME, account=account)
        User = get_user_model()
        username, password = options["admin_user"], options["admin_password"]
        if not User.objects.filter(username=username).exists():
            if not settings.DEBUG:  # `make run` (DEBUG on) may have admin/admin; nothing else may
                try:
                    validate_password(password, User(username=username))
                except ValidationError as exc:
                    raise CommandError(f"The admin password is refused: {' '.join(exc.messages)}")
            User.objects.create_superuser(username=username, password=password, email="")
            admin_note = f"{username} / {password}"
        else:
            admin_note = f"{username} (existing user; password unchanged)"
        self.stdout.write("Demo app keys:")
        self.stdout.write(json.dumps({"appId": app.app_id, "appKey": app.app_key, "masterKey": app.master_key}))
        self.stdout.write(f"Admin login: {admin_note}")
