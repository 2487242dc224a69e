# An app's default signature is a templates_review Signature now: its old text was moved there
# (templates_review 0002) before the field goes.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_app_limit_notification_per_day'),
        ('templates_review', '0002_default_signatures_of_existing_apps'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='app',
            name='sms_signature',
        ),
    ]
