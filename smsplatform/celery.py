import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

app = Celery("smsplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The delivery loop (sms.delivery_loop): a thread in each worker's main process, started after the pool.
app.steps["worker"].add("sms.delivery_loop:DeliveryLoopStep")
