from celery import shared_task

from .services.on_verified_hook import HOOK_RETRY_DELAYS, call_on_verified_hook as call_hook, is_retryable


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=len(HOOK_RETRY_DELAYS))
def call_on_verified_hook(self, user_id: int, user_json: dict) -> None:
    """Call the app's engine; a failure that may pass is retried after each of HOOK_RETRY_DELAYS."""
    attempt = call_hook(user_id=user_id, user_json=user_json, attempt=self.request.retries + 1)
    if attempt is not None and is_retryable(attempt) and self.request.retries < self.max_retries:
        raise self.retry(countdown=HOOK_RETRY_DELAYS[self.request.retries])
