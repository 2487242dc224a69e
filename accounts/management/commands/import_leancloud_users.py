import time

from django.core.management.base import BaseCommand, CommandError

from accounts.leancloud_export import read_export
from accounts.management.arguments import app_from_argument
from accounts.services.user_import import IMPORT_BATCH_SIZE, import_leancloud_users


class Command(BaseCommand):
    help = (
        "Import a LeanCloud _User export (JSON lines, a JSON array or {\"results\": [...]}) into an app. "
        "Users keep their objectId, dates, fields and password; rows whose objectId exists are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_id")
        parser.add_argument("file")
        parser.add_argument("--batch-size", type=int, default=IMPORT_BATCH_SIZE)

    def handle(self, *args, **options):
        app = app_from_argument(options["app_id"])
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        started = time.monotonic()
        try:
            report = import_leancloud_users(app=app, rows=read_export(options["file"]), batch_size=options["batch_size"])
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}")
        except ValueError as exc:
            raise CommandError(f"{options['file']} is not a LeanCloud export: {exc}")
        for where, problem in report.bad_rows():
            self.stderr.write(f"{where}: {problem}")
        self.stdout.write(
            f"Imported {report.imported}, skipped {report.skipped} already present, "
            f"{len(report.bad)} bad row(s), in {time.monotonic() - started:.1f} s."
        )
