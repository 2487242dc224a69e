import hashlib

import pytest

from smsplatform.errors import Errors
from tests.support import LeanCloudClient, assert_error, sign_header, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/verifySmsCode/123456"


def call(app, **headers):
    # verifySmsCode with an unknown code: 603 means the keys were accepted, 401 that they were not.
    return LeanCloudClient().post(URL, {"mobilePhoneNumber": unique_phone()}, **headers)


def test_contract_worked_example_of_the_sign():
    digest = hashlib.md5(("1453014943466" + "UtOCzqb67d3sN12Kts4URwy8").encode()).hexdigest()
    assert digest == "d5bcbb897e19b2f6633c716dfdfaf9be"
    assert sign_header("UtOCzqb67d3sN12Kts4URwy8", timestamp="1453014943466") == f"{digest},1453014943466"


@pytest.mark.parametrize("form", ["app_key", "master_key", "app_sign", "master_sign"])
@pytest.mark.parametrize("legacy", [False, True])
def test_every_accepted_header_form(app, form, legacy):
    id_header = "HTTP_X_AVOSCLOUD_APPLICATION_ID" if legacy else "HTTP_X_LC_ID"
    key_header = "HTTP_X_AVOSCLOUD_APPLICATION_KEY" if legacy else "HTTP_X_LC_KEY"
    sign_name = "HTTP_X_AVOSCLOUD_REQUEST_SIGN" if legacy else "HTTP_X_LC_SIGN"
    value = {
        "app_key": (key_header, app.app_key),
        "master_key": (key_header, f"{app.master_key},master"),
        "app_sign": (sign_name, sign_header(app.app_key)),
        "master_sign": (sign_name, sign_header(app.master_key, master=True)),
    }[form]
    assert_error(call(app, **{id_header: app.app_id, value[0]: value[1]}), Errors.INVALID_SMS_CODE)


@pytest.mark.parametrize("headers", [
    lambda app: {},
    lambda app: {"HTTP_X_LC_KEY": app.app_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id},
    lambda app: {"HTTP_X_LC_ID": "nosuchapp1234", "HTTP_X_LC_KEY": app.app_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": app.app_key + "x"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": app.master_key},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": f"{app.app_key},master"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_KEY": f"{app.master_key},admin"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(app.master_key)},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": sign_header(app.app_key, master=True)},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": "d5bcbb897e19b2f6633c716dfdfaf9be"},
    lambda app: {"HTTP_X_LC_ID": app.app_id, "HTTP_X_LC_SIGN": "nothex,notatime"},
], ids=["none", "no-id", "no-key", "unknown-app", "wrong-key", "master-without-suffix",
        "app-key-as-master", "unknown-role", "master-signed-as-app", "app-signed-as-master",
        "sign-without-time", "garbage-sign"])
def test_anything_else_is_401(app, headers):
    assert_error(call(app, **headers(app)), Errors.UNAUTHORIZED)


def test_another_apps_key_does_not_open_this_app(app, app_with):
    other = app_with()
    response = call(app, HTTP_X_LC_ID=app.app_id, HTTP_X_LC_KEY=other.app_key)
    assert_error(response, Errors.UNAUTHORIZED)
