"""The official Python SDK, unchanged but for LEANCLOUD_API_SERVER, against a running server."""
import json
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from sms.models import Message, MessageStatus
from tests.support import unique_phone

pytestmark = pytest.mark.live

SDK_PYTHON = Path(settings.BASE_DIR) / ".venv-sdk" / "bin" / "python"


def run_sdk_script(script: str, env: dict) -> dict:
    assert SDK_PYTHON.exists(), "the SDK virtualenv is missing: `make test` builds .venv-sdk"
    finished = subprocess.run(
        [str(SDK_PYTHON), str(Path(__file__).parent / script)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout)


def test_request_and_verify_sms_code_through_the_python_sdk(live_stack, live_app):
    phone = unique_phone()
    report = run_sdk_script("sdk_python_sms.py", {
        "PATH": "/usr/bin:/bin",
        "LEANCLOUD_API_SERVER": live_stack.url,
        "APP_ID": live_app.app_id,
        "APP_KEY": live_app.app_key,
        "PHONE": phone,
        "OUTBOX": str(live_stack.outbox.path),
    })
    assert report["server_time"]
    assert report["verified"] is True
    assert report["reuse"] == {"code": 603, "error": "Invalid SMS code."}
    assert report["too_fast"]["code"] == 1
    assert report["bad_number"]["code"] == 127
    assert Message.objects.get(phone=phone).status == MessageStatus.VERIFIED
