"""Runs under .venv-sdk with the official LeanCloud Python SDK (leancloud==3.0.2), unchanged.

Environment: LEANCLOUD_API_SERVER, APP_ID, APP_KEY, PHONES (three numbers, comma-separated),
USERNAME, OUTBOX. Drives the user API's flows and prints one JSON object of what happened; the
pytest side asserts on it.
"""
import json
import os
import sys

import leancloud
from leancloud import User, cloud
from sdk_support import OutboxCodes, error_of

leancloud.init(os.environ["APP_ID"], os.environ["APP_KEY"])
first, second, third = os.environ["PHONES"].split(",")
username = os.environ["USERNAME"]
next_code = OutboxCodes(os.environ["OUTBOX"]).next_code
report = {}


# Sign up or log in by phone with a requestSmsCode code.
cloud.request_sms_code(first)
user = User.signup_or_login_with_mobile_phone(first, next_code(first))
report["phone_sign_up"] = {
    "id": user.id, "username": user.get_username(), "phone": user.get_mobile_phone_number(),
    "verified": user.get("mobilePhoneVerified"), "has_token": bool(user.get_session_token()),
    "created_at": user.created_at.isoformat() if user.created_at else None,
}

# Log in with an SMS login code.
User.request_login_sms_code(first)
by_code = User()
by_code.set("mobilePhoneNumber", first)
by_code.set("smsCode", next_code(first))
by_code.login()
report["sms_login"] = {"id": by_code.id, "new_token": by_code.get_session_token() != user.get_session_token()}

# Verify a number (the Python SDK sends it along).
unverified = User()
unverified.set_mobile_phone_number(second)
unverified.sign_up(username + "-verify", "pw1")
before = unverified.get("mobilePhoneVerified")
User.request_mobile_phone_verify(second)
User.verify_mobile_phone_number(next_code(second), second)
unverified.fetch()
report["verify"] = {"before": before, "after": unverified.get("mobilePhoneVerified")}

# Reset a password by SMS; the old session ends.
User.request_password_reset_by_sms_code(first)
User.reset_password_by_sms_code(next_code(first), "new-pw", first)
relogged = User.login_with_mobile_phone(first, "new-pw")
report["reset"] = {"id": relogged.id, "old_session_authenticated": user.is_authenticated(),
                   "old_password": error_of(lambda: User.login_with_mobile_phone(first, "no-such-pw"))}

# Change the logged-in user's number.
relogged = User.login_with_mobile_phone(first, "new-pw")
User.request_change_phone_number(third)
User.change_phone_number(next_code(third), third)
relogged.fetch()
report["change"] = {"phone": relogged.get_mobile_phone_number(), "verified": relogged.get("mobilePhoneVerified")}

# Sign up, become, is authenticated, save, refresh the token, update the password.
signed = User()
signed.set("nickname", "Al")
signed.sign_up(username, "pw1")
token = signed.get_session_token()
became = User.become(token)
report["sign_up"] = {"id": signed.id, "became": became.id, "nickname": became.get("nickname"),
                     "authenticated": became.is_authenticated()}
became.set("nickname", "Ally")
became.save()
became.refresh_session_token()
refreshed = became.get_session_token()
report["refresh"] = {"changed": refreshed != token, "old_token": error_of(lambda: User.become(token)),
                     "new_token_user": User.become(refreshed).id}
became = User.become(refreshed)
became.update_password("pw1", "pw2")
fresh = User()
fresh.login(username, "pw2")
report["update_password"] = {
    "login_with_new": fresh.id, "nickname": fresh.get("nickname"),
    "login_with_old": error_of(lambda: User().login(username, "pw1")),
    "refreshed_token_after": error_of(lambda: User.become(refreshed)),
}
json.dump(report, sys.stdout)
