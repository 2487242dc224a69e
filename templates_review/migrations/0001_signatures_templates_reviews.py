# Signatures, templates and their reviews.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0004_app_limit_notification_per_day'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Signature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.CharField(help_text='Without 【】: 2-20 Chinese characters, letters or digits.', max_length=20)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='pending', max_length=16)),
                ('reason', models.CharField(blank=True, help_text='Why it was rejected.', max_length=500)),
                ('is_default', models.BooleanField(default=False, help_text='Signs every message that names no other signature (approved ones only).', verbose_name='default')),
                ('default_on_approval', models.BooleanField(default=False, help_text="Becomes the app's default once approved (asked for while pending).")),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('app', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sms_signatures', to='accounts.app')),
            ],
            options={
                'ordering': ['app', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Template',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=64)),
                ('category', models.CharField(blank=True, choices=[('verification', 'Verification'), ('notification', 'Notification')], max_length=16)),
                ('body', models.TextField(blank=True, help_text='Handlebars; empty until a body is approved.')),
                ('version', models.PositiveIntegerField(default=0, help_text='How many bodies were approved; 0: none serves yet.')),
                ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('app', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sms_templates', to='accounts.app')),
                ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('signature', models.ForeignKey(blank=True, help_text="Signs it unless the request names a signature; empty: the app's default.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='templates', to='templates_review.signature')),
            ],
            options={
                'ordering': ['app', 'name'],
            },
        ),
        migrations.CreateModel(
            name='Review',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('signature', 'Signature'), ('template', 'Template')], max_length=16)),
                ('subject', models.CharField(max_length=64)),
                ('category', models.CharField(blank=True, choices=[('verification', 'Verification'), ('notification', 'Notification')], max_length=16)),
                ('body', models.TextField(blank=True)),
                ('submitted_via', models.CharField(choices=[('api', 'REST API (master key)'), ('admin', 'Admin'), ('new_app', "The app's name, when the app was made")], default='api', max_length=16)),
                ('submitted_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn (replaced by a newer submission, or deleted)')], default='pending', max_length=16)),
                ('reason', models.CharField(blank=True, help_text='Why it was rejected.', max_length=500)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('app', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.app')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('signature', models.ForeignKey(blank=True, help_text='The signature under review (kind signature).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reviews', to='templates_review.signature')),
                ('template_signature', models.ForeignKey(blank=True, help_text="The signature the submitted template names (empty: the app's default).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='templates_review.signature')),
                ('template', models.ForeignKey(blank=True, help_text='The template whose body is under review (kind template).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reviews', to='templates_review.template')),
            ],
            options={
                'ordering': ['submitted_at', 'id'],
                'verbose_name_plural': 'review queue',
                'permissions': [('decide_review', 'Can approve or reject what waits for review')],
            },
        ),
        migrations.AddConstraint(
            model_name='signature',
            constraint=models.UniqueConstraint(fields=('app', 'text'), name='templates_review_signature_text'),
        ),
        migrations.AddConstraint(
            model_name='signature',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('app',), name='templates_review_one_default_signature'),
        ),
        migrations.AddConstraint(
            model_name='signature',
            constraint=models.CheckConstraint(condition=models.Q(('is_default', False), ('status', 'approved'), _connector='OR'), name='templates_review_default_signature_approved'),
        ),
        migrations.AddConstraint(
            model_name='template',
            constraint=models.UniqueConstraint(fields=('app', 'name'), name='templates_review_template_name'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(fields=['status', 'submitted_at'], name='templates_review_queue'),
        ),
    ]
