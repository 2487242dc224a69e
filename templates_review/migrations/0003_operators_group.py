"""The "Operators" staff group: exactly what reviewing signatures and templates needs.

They see the review queue and decide it (`decide_review`), and make, change and delete signatures
and templates in the admin; nothing else (no keys, no balances, no send records, no users). Add a
staff user to the group to make them an operator. Migrating again sets the group's permissions back
to exactly these.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Operators"
PERMISSIONS = [
    ("review", "view_review"),
    ("review", "decide_review"),
    ("signature", "view_signature"),
    ("signature", "add_signature"),
    ("signature", "change_signature"),
    ("signature", "delete_signature"),
    ("template", "view_template"),
    ("template", "add_template"),
    ("template", "change_template"),
    ("template", "delete_template"),
]


def forwards(apps, schema_editor):
    # Permissions are made after migrations; make this app's now, so that the group can hold them.
    config = apps.get_app_config("templates_review")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set([
        Permission.objects.get(content_type__app_label="templates_review", content_type__model=model, codename=codename)
        for model, codename in PERMISSIONS
    ])


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("templates_review", "0002_default_signatures_of_existing_apps"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
