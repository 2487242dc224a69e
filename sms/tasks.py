from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    services.deliver_messages(message_ids)


@shared_task(acks_late=True, ignore_result=True)
def drain_outbox() -> int:
    return services.drain_outbox()


@shared_task(ignore_result=True)
def requeue_stalled_messages() -> int:
    return services.requeue_stalled_messages()
