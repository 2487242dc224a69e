"""A rotated key is refused at once by every server process, not APP_CACHE_SECONDS later."""
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from tests.support import unique_phone

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(not settings.REDIS_URL, reason="several server processes share their caches through Redis")]


def statuses(stack, app_id, key, count):
    def one(_):
        return requests.post(stack.api("verifySmsCode/123456"), json={"mobilePhoneNumber": unique_phone()},
                             headers={"X-LC-Id": app_id, "X-LC-Key": key}, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_every_server_process_refuses_the_old_key_at_once(live_stack, live_app):
    old_key = live_app.app_key
    # Every process serves the app and keeps it (603: the keys were taken, the code is unknown).
    assert set(statuses(live_stack, live_app.app_id, old_key, 60)) == {400}
    call_command("rotate_keys", live_app.app_id, stdout=StringIO())
    live_app.refresh_from_db()
    assert set(statuses(live_stack, live_app.app_id, old_key, 60)) == {401}
    assert set(statuses(live_stack, live_app.app_id, live_app.app_key, 20)) == {400}
