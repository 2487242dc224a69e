"""Security review item 1: send records written before sealing kept the whole text, code included.
Mask the code in every verification record that is already written (what delivery still needs of an
unsent one is gone with it: such a record, still accepted, is settled as call failed)."""
import re

from django.db import migrations

CODE_MASK = "******"
DIGITS = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def mask_codes(apps, schema_editor):
    Message = apps.get_model("sms", "Message")
    rows = Message.objects.filter(category="verification").exclude(text__contains=CODE_MASK)
    batch = []
    for message in rows.only("id", "text", "channel", "status").iterator(chunk_size=2000):
        if message.channel == "voice":
            message.text = CODE_MASK
        else:
            head, sep, body = message.text.partition("】")
            message.text = head + sep + DIGITS.sub(CODE_MASK, body) if sep else DIGITS.sub(CODE_MASK, message.text)
        batch.append(message)
        if len(batch) >= 2000:
            Message.objects.bulk_update(batch, ["text"])
            batch = []
    if batch:
        Message.objects.bulk_update(batch, ["text"])
    # Unsent records of before have no sealed text to send: they end as call failed, with the reason.
    Message.objects.filter(status__in=["accepted", "sending"], sealed__isnull=True, category="verification").update(
        status="call_failed", error="text masked by the sealing upgrade before it was sent", error_code="sealed",
    )


class Migration(migrations.Migration):
    dependencies = [("sms", "0003_carriers_routes_receipts")]

    operations = [migrations.RunPython(mask_codes, migrations.RunPython.noop)]
