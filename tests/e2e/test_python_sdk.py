"""The official Python SDK, unchanged but for LEANCLOUD_API_SERVER, against a running server."""
import pytest

from sms.models import Message, MessageStatus
from smsplatform.errors import Errors
from tests.live import run_sdk_script
from tests.support import error_body, unique_phone

pytestmark = pytest.mark.live


def test_request_and_verify_sms_code_through_the_python_sdk(live_stack, live_app):
    phone = unique_phone()
    report = run_sdk_script("sdk_python_sms.py", stack=live_stack, app=live_app, PHONE=phone)
    assert report["server_time"]
    assert report["verified"] is True
    assert report["reuse"] == error_body(Errors.INVALID_SMS_CODE)
    assert report["too_fast"] == error_body(Errors.BAD_REQUEST, "SMS request too fast(1 request per 10s).")
    assert report["bad_number"] == error_body(Errors.INVALID_PHONE)
    assert Message.objects.get(phone=phone).status == MessageStatus.VERIFIED
