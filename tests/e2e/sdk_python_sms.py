"""Runs under .venv-sdk with the official LeanCloud Python SDK (leancloud==3.0.2), unchanged.

Environment: LEANCLOUD_API_SERVER, APP_ID, APP_KEY, PHONE, OUTBOX. Prints one JSON object of
what happened; the pytest side asserts on it.
"""
import json
import os
import sys

import leancloud
from leancloud import cloud
from sdk_support import OutboxCodes, error_of

leancloud.init(os.environ["APP_ID"], os.environ["APP_KEY"])
phone = os.environ["PHONE"]
report = {}

report["server_time"] = leancloud.client.get_server_time().isoformat()
# The SDK sends the national number with idd "+86" prepended.
cloud.request_sms_code(phone.removeprefix("+86"), sms_type="sms")
code = OutboxCodes(os.environ["OUTBOX"]).next_code(phone)
report["verified"] = cloud.verify_sms_code(phone, code)
report["reuse"] = error_of(lambda: cloud.verify_sms_code(phone, code))
report["too_fast"] = error_of(lambda: cloud.request_sms_code(phone))
report["bad_number"] = error_of(lambda: cloud.request_sms_code("12345"))
json.dump(report, sys.stdout)
