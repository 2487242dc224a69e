"""The official Python SDK, unchanged but for LEANCLOUD_API_SERVER, against a running server."""
import pytest

from sms.models import Message, MessageStatus
from tests.live import run_sdk_script
from tests.support import unique_phone

pytestmark = pytest.mark.live


def test_request_and_verify_sms_code_through_the_python_sdk(live_stack, live_app):
    phone = unique_phone()
    report = run_sdk_script("sdk_python_sms.py", stack=live_stack, app=live_app, PHONE=phone)
    assert report["server_time"]
    assert report["verified"] is True
    assert report["reuse"] == {"code": 603, "error": "Invalid SMS code."}
    assert report["too_fast"]["code"] == 1
    assert report["bad_number"]["code"] == 127
    assert Message.objects.get(phone=phone).status == MessageStatus.VERIFIED
