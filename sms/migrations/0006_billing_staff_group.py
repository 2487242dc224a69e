"""The "Billing staff" group: exactly what the billing console needs.

They read send records (and export them), the ledger, the accounts' balances and the prices; they
add and change prices; they record recharges and adjustments (`accounts.record_money`, through
`accounts.services.money`). Nothing else: no apps (so no keys), no end users, no carriers or routes.
Add a staff user to the group to make them billing staff. Migrating again sets the group's
permissions back to exactly these.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Billing staff"
PERMISSIONS = [
    ("sms", "message", "view_message"),
    ("sms", "price", "view_price"),
    ("sms", "price", "add_price"),
    ("sms", "price", "change_price"),
    ("accounts", "account", "view_account"),
    ("accounts", "account", "record_money"),
    ("accounts", "ledgerentry", "view_ledgerentry"),
]


def forwards(apps, schema_editor):
    # Permissions are made after migrations; make these apps' now, so that the group can hold them.
    for label in ("accounts", "sms"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set([
        Permission.objects.get(content_type__app_label=app, content_type__model=model, codename=codename)
        for app, model, codename in PERMISSIONS
    ])


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("sms", "0005_prices"),
        ("accounts", "0007_billing_purses_ledger"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
