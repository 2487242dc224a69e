"""Seal every carrier secret again under the first key of SMS_SEALING_KEY (after a rotation: put the
new key first, keep the old one after it, run this, then drop the old key)."""
from django.core.management.base import BaseCommand

from sms.models import Carrier


class Command(BaseCommand):
    help = "Re-seal carrier secrets under the first SMS_SEALING_KEY."

    def handle(self, *args, **options):
        count = 0
        for carrier in Carrier.objects.exclude(secret_sealed=""):
            carrier.secret = carrier.secret  # unsealed with any key, sealed with the first
            carrier.save(update_fields=["secret_sealed", "updated_at"])
            count += 1
        self.stdout.write(f"{count} carrier secret(s) re-sealed")
