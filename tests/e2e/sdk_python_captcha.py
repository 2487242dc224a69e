"""Runs under .venv-sdk with the official LeanCloud Python SDK (leancloud==3.0.2), unchanged.

STEP=request: asks for captchas with the app key and with the master key; prints their tokens and
URLs and the errors met. STEP=solve (TOKEN, URL, CODE, WRONG_TOKEN, PHONE, OTHER_PHONE): answers
one captcha right and one wrong, then asks for SMS codes with and without the validate token.
Environment also: LEANCLOUD_API_SERVER, APP_ID, APP_KEY, MASTER_KEY. Prints one JSON object.
"""
import json
import os
import sys

import leancloud
from leancloud import cloud
from sdk_support import error_of

env = os.environ
leancloud.init(env["APP_ID"], env["APP_KEY"], env["MASTER_KEY"])
leancloud.use_master_key(False)
report = {}


def described(captcha):
    return {"token": captcha.token, "url": captcha.url}


if env["STEP"] == "request":
    report["client"] = described(cloud.request_captcha(width=120, height=40))
    report["wrong"] = described(cloud.request_captcha())
    report["client_size"] = error_of(lambda: cloud.request_captcha(size=5))
    report["bad_width"] = error_of(lambda: cloud.request_captcha(width=10))
    leancloud.use_master_key(True)
    report["master"] = described(cloud.request_captcha(size=6, ttl=120, width=200, height=100))
else:
    report["wrong_answer"] = error_of(lambda: cloud.verify_captcha("nope", env["WRONG_TOKEN"]))
    validate_token = cloud.Captcha(env["TOKEN"], env["URL"]).verify(env["CODE"])
    report["validate_token"] = validate_token
    report["without_token"] = error_of(lambda: cloud.request_sms_code(env["OTHER_PHONE"]))
    cloud.request_sms_code(env["PHONE"], validate_token=validate_token)
    report["reuse"] = error_of(lambda: cloud.request_sms_code(env["OTHER_PHONE"], validate_token=validate_token))
json.dump(report, sys.stdout)
