# The notification limit: at most this many per number and signature in a calendar day.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_phone_number_fields'),
    ]

    operations = [
        migrations.AddField(
            model_name='app',
            name='limit_notification_per_day',
            field=models.PositiveIntegerField(default=15, help_text="Notification SMS per number and signature in one calendar day, in the app's time zone (601)."),
        ),
        migrations.AlterField(
            model_name='app',
            name='name',
            field=models.CharField(help_text="Fills {name} in messages; made into the app's default signature when the app is made.", max_length=100),
        ),
    ]
