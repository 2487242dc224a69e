"""One call of an app's cloud engine hook `onVerified('sms')`, as LeanCloud made it.

`accounts.tasks.call_on_verified_hook` runs it and retries what may pass later; the phone flows
queue that task once a verification commits.
"""
import json
import time

import requests

from ..models import EndUser, HookAttempt

ON_VERIFIED_PATH = "/1.1/functions/onVerified/sms"
HOOK_TIMEOUT_SECONDS = 3
# Seconds before each retry; a failed call is tried at most 1 + len(HOOK_RETRY_DELAYS) times.
HOOK_RETRY_DELAYS = (10, 60, 300)


def is_retryable(attempt: HookAttempt) -> bool:
    """A failure that may pass: no answer, a 5xx, 408 or 429."""
    code = attempt.status_code
    return not attempt.succeeded and (code is None or code >= 500 or code in (408, 429))


def call_on_verified_hook(*, user_id: int, user_json: dict, attempt: int) -> HookAttempt | None:
    """POST `{"object": user}` to `<engine_url>/1.1/functions/onVerified/sms` with the app's master
    and hook keys, and record the attempt; None when the user or the app's engine is gone."""
    user = EndUser.objects.select_related("app").filter(pk=user_id).first()
    if user is None or not user.app.engine_url:
        return None
    app = user.app
    url = app.engine_url.rstrip("/") + ON_VERIFIED_PATH
    headers = {
        "X-LC-Id": app.app_id,
        "X-LC-Key": f"{app.master_key},master",
        "X-LC-Hook-Key": app.hook_key,
        "Content-Type": "application/json",
    }
    body = json.dumps({"object": user_json}, ensure_ascii=False).encode()
    status_code, error = None, ""
    started = time.monotonic()
    try:
        response = requests.post(url, data=body, headers=headers, timeout=HOOK_TIMEOUT_SECONDS, allow_redirects=False)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = response.text[:255]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:255]
    return HookAttempt.objects.create(
        app=app, user=user, url=url, attempt=attempt, status_code=status_code, error=error,
        succeeded=status_code is not None and 200 <= status_code < 300,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
