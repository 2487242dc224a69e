import json

from django.core.management.base import BaseCommand, CommandError

from accounts.services import money


class Command(BaseCommand):
    help = ("Check that every account's balances equal the sums of its ledger; exits non-zero, "
            "printing each difference as JSON, when one does not.")

    def handle(self, *args, **options):
        differences = money.ledger_differences()
        for difference in differences:
            self.stderr.write(json.dumps(difference))
        if differences:
            raise CommandError(f"{len(differences)} account(s) differ from their ledger.")
        self.stdout.write("Every account's balances equal the sums of its ledger.")
