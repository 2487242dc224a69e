from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def call_on_verified_hook(user_id: int, user_json: dict, attempt: int = 1) -> None:
    services.call_on_verified_hook(user_id=user_id, user_json=user_json, attempt=attempt)
