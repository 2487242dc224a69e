"""Runs under .venv-sdk with the official LeanCloud Python SDK (leancloud==3.0.2), unchanged.

Environment: LEANCLOUD_API_SERVER, APP_ID, APP_KEY, PHONE, OUTBOX. Prints one JSON object of
what happened; the pytest side asserts on it.
"""
import json
import os
import re
import sys
import time

import leancloud
from leancloud import cloud

leancloud.init(os.environ["APP_ID"], os.environ["APP_KEY"])
phone, outbox = os.environ["PHONE"], os.environ["OUTBOX"]
report = {}


def code_from_outbox():
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(outbox):
            with open(outbox, encoding="utf-8") as lines:
                texts = [json.loads(line)["text"] for line in lines if json.loads(line)["to"] == phone]
            if texts:
                return re.search(r"(\d{6})", texts[-1].split("】", 1)[-1]).group(1)
        time.sleep(0.1)
    raise SystemExit("no code arrived in the outbox")


def error_of(call):
    try:
        call()
    except leancloud.LeanCloudError as error:
        return {"code": error.code, "error": error.error}
    return None


report["server_time"] = leancloud.client.get_server_time().isoformat()
# The SDK sends the national number with idd "+86" prepended.
cloud.request_sms_code(phone.removeprefix("+86"), sms_type="sms")
code = code_from_outbox()
report["verified"] = cloud.verify_sms_code(phone, code)
report["reuse"] = error_of(lambda: cloud.verify_sms_code(phone, code))
report["too_fast"] = error_of(lambda: cloud.request_sms_code(phone))
report["bad_number"] = error_of(lambda: cloud.request_sms_code("12345"))
json.dump(report, sys.stdout)
