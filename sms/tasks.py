from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    services.deliver_messages(message_ids)
