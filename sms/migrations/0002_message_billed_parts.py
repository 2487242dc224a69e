from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sms", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="message", old_name="parts", new_name="billed_parts"),
        migrations.AlterField(
            model_name="message",
            name="billed_parts",
            field=models.PositiveSmallIntegerField(
                default=1, help_text="Parts the text is billed as (70 characters in one, 67 a part beyond).",
            ),
        ),
    ]
