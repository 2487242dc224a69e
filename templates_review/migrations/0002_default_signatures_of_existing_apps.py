"""Every existing app gets an approved default signature: its old `sms_signature`, else its name
(Chinese characters, letters and digits, at most 20), when that is a valid signature. An app whose
text is none (letters only, say) gets none, and is logged: its SMS answer 600 until one is added."""
import logging
import re

from django.db import migrations
from django.utils import timezone

logger = logging.getLogger("templates_review")

_CHINESE = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


def _signature(text: str) -> str | None:
    # The rules of templates_review.checks as they were when this ran (a migration keeps its own).
    text = "".join(re.findall(f"[{_CHINESE}A-Za-z0-9]", text or ""))[:20]
    if len(text) < 2 or re.fullmatch(r"[A-Za-z]+|[0-9]+", text):
        return None
    return text


def forwards(apps, schema_editor):
    App = apps.get_model("accounts", "App")
    Signature = apps.get_model("templates_review", "Signature")
    Review = apps.get_model("templates_review", "Review")
    now = timezone.now()
    for app in App.objects.exclude(id__in=Signature.objects.filter(is_default=True).values("app_id")):
        text = _signature(app.sms_signature) or _signature(app.name)
        if text is None:
            logger.warning("App %s (%s) has no valid signature in %r or its name: it has none by default.",
                           app.app_id, app.name, app.sms_signature)
            continue
        signature, _ = Signature.objects.update_or_create(
            app=app, text=text, defaults={"status": "approved", "is_default": True, "reason": ""})
        Review.objects.create(app=app, kind="signature", signature=signature, subject=text, submitted_via="new_app",
                              status="approved", submitted_at=now, decided_at=now)


def backwards(apps, schema_editor):
    App = apps.get_model("accounts", "App")
    Signature = apps.get_model("templates_review", "Signature")
    for signature in Signature.objects.filter(is_default=True):
        App.objects.filter(id=signature.app_id).update(sms_signature=signature.text)


class Migration(migrations.Migration):

    dependencies = [
        ("templates_review", "0001_signatures_templates_reviews"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
