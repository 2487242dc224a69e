import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from accounts.services import money


class Command(BaseCommand):
    help = "Add money to an account's balance (or, with --gift, its gift balance) and print its balances as JSON."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's name, as create_app --account names it.")
        parser.add_argument("amount", help="A positive amount, at most 4 decimal places (e.g. 100 or 12.50).")
        parser.add_argument("--reason", required=True, help="Why: written in the ledger with the change.")
        parser.add_argument("--gift", action="store_true", help="Add to the gift balance (spent before the balance).")

    def handle(self, *args, **options):
        account = Account.objects.filter(name=options["account"]).first()
        if account is None:
            raise CommandError(f"No account is named {options['account']!r}.")
        if not options["reason"].strip():
            raise CommandError("--reason must say why.")
        try:
            result = money.recharge(account=account, amount=options["amount"], reason=options["reason"],
                                    gift=options["gift"])
        except (ValueError, ArithmeticError) as exc:
            raise CommandError(str(exc) or f"{options['amount']!r} is not an amount.")
        self.stdout.write(json.dumps({"account": account.name, **result.as_json()}))
