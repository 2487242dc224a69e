"""Sign-up, login, the current user, a user's own changes, and its sessions."""
import re
from datetime import datetime

import pytest

from accounts.models import EndUser, Session
from smsplatform.errors import Errors
from tests.accounts.support import sign_up, sign_up_by_phone
from tests.factories import EndUserFactory
from tests.support import assert_error, session, unique_phone

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"^[0-9a-z]{25}$")
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.parametrize("path", ["/1.1/users", "/1.1/classes/_User?fetchWhenSave=false"])
def test_sign_up_answers_201_with_location_id_date_and_a_session(lc, path):
    response = lc.post(path, {"username": "alice", "password": "s3cret!", "nickname": "Al", "age": 30})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"objectId", "createdAt", "sessionToken"}
    assert OBJECT_ID.match(body["objectId"]) and TOKEN.match(body["sessionToken"]) and ISO.match(body["createdAt"])
    assert response["Location"] == f"http://testserver{path.split('?')[0]}/{body['objectId']}"
    me = lc.get("/1.1/users/me", **session(body["sessionToken"])).json()
    assert me["username"] == "alice" and me["nickname"] == "Al" and me["age"] == 30
    assert "password" not in me and "fetchWhenSave" not in me


def test_the_full_user_shape(lc):
    phone = unique_phone()
    token = sign_up(lc, email="a@example.com", mobilePhoneNumber=phone, tags=["x"], profile={"city": "杭州"})["sessionToken"]
    me = lc.get("/1.1/users/me", **session(token)).json()
    assert set(me) == {"objectId", "username", "email", "emailVerified", "mobilePhoneNumber", "mobilePhoneVerified",
                       "sessionToken", "createdAt", "updatedAt", "tags", "profile"}
    assert me["mobilePhoneNumber"] == phone and me["mobilePhoneVerified"] is False and me["emailVerified"] is False
    assert me["profile"] == {"city": "杭州"} and me["tags"] == ["x"]
    assert ISO.match(me["updatedAt"]) and me["sessionToken"] == token


def test_a_user_without_email_or_number_shows_neither(lc):
    token = sign_up(lc)["sessionToken"]
    me = lc.get("/1.1/users/me", **session(token)).json()
    assert "email" not in me and "mobilePhoneNumber" not in me
    assert me["emailVerified"] is False and me["mobilePhoneVerified"] is False


def test_a_client_cannot_sign_up_with_verified_flags_but_the_master_key_can(lc, lc_master):
    token = sign_up(lc, "a", mobilePhoneNumber=unique_phone(), mobilePhoneVerified=True)["sessionToken"]
    assert lc.get("/1.1/users/me", **session(token)).json()["mobilePhoneVerified"] is False
    token = sign_up(lc_master, "b", mobilePhoneNumber=unique_phone(), mobilePhoneVerified=True)["sessionToken"]
    assert lc.get("/1.1/users/me", **session(token)).json()["mobilePhoneVerified"] is True


@pytest.mark.parametrize("body, error", [
    ({"password": "p"}, Errors.USERNAME_MISSING),
    ({"username": "", "password": "p"}, Errors.USERNAME_MISSING),
    ({"username": "bob"}, Errors.PASSWORD_MISSING),
    ({"username": "bob", "password": ""}, Errors.PASSWORD_MISSING),
    ({"username": "bob", "password": "p", "mobilePhoneNumber": "12345"}, Errors.INVALID_PHONE),
    ({"username": "bob", "password": "p", "mobilePhoneNumber": "+86 10 6552 9988"}, Errors.INVALID_PHONE),
], ids=["no-username", "empty-username", "no-password", "empty-password", "bad-number", "fixed-line"])
def test_sign_up_refuses_missing_fields_and_bad_numbers(lc, body, error):
    assert_error(lc.post("/1.1/users", body), error)
    assert not EndUser.objects.exists()


def test_sign_up_refuses_taken_username_email_and_number(lc):
    phone = unique_phone()
    sign_up(lc, "alice", email="a@example.com", mobilePhoneNumber=phone)
    assert_error(lc.post("/1.1/users", {"username": "alice", "password": "p"}), Errors.USERNAME_TAKEN)
    assert_error(lc.post("/1.1/users", {"username": "b", "password": "p", "email": "a@example.com"}),
                 Errors.EMAIL_TAKEN)
    # The same number written another way is the same number.
    national = phone.removeprefix("+86")
    assert_error(lc.post("/1.1/users", {"username": "c", "password": "p", "mobilePhoneNumber": national}),
                 Errors.PHONE_TAKEN)
    assert EndUser.objects.count() == 1


def test_the_same_username_may_exist_in_two_apps(lc, client_of, app_with):
    sign_up(lc, "alice")
    sign_up(client_of(app_with()), "alice")
    assert EndUser.objects.filter(username="alice").count() == 2


def test_a_null_body_is_an_empty_one(lc):
    assert_error(lc.post("/1.1/users", raw="null"), Errors.USERNAME_MISSING)


# --- login ------------------------------------------------------------------------------------------

def test_log_in_with_username_email_or_number_and_password(lc):
    phone = unique_phone()
    user_id = sign_up(lc, "alice", "pw1", email="a@example.com", mobilePhoneNumber=phone)["objectId"]
    for credentials in ({"username": "alice"}, {"email": "a@example.com"}, {"mobilePhoneNumber": phone},
                        {"mobilePhoneNumber": phone.removeprefix("+86")}):
        response = lc.post("/1.1/login", {**credentials, "password": "pw1"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["objectId"] == user_id and body["username"] == "alice" and TOKEN.match(body["sessionToken"])
        assert lc.get("/1.1/users/me", **session(body["sessionToken"])).status_code == 200


def test_log_in_by_get_with_the_query_string(lc):
    sign_up(lc, "alice", "pw1")
    response = lc.get("/1.1/login?username=alice&password=pw1")
    assert response.status_code == 200 and response.json()["username"] == "alice"


def test_each_login_opens_another_session_and_the_older_ones_stay(lc):
    first = sign_up(lc, "alice", "pw1")["sessionToken"]
    second = lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).json()["sessionToken"]
    third = lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).json()["sessionToken"]
    assert len({first, second, third}) == 3
    for token in (first, second, third):
        assert lc.get("/1.1/users/me", **session(token)).status_code == 200
    assert Session.objects.count() == 3


def test_a_stale_or_foreign_session_header_does_not_fail_login_or_sign_up(lc, client_of, app_with):
    other_app_token = sign_up(client_of(app_with()), "zed")["sessionToken"]
    sign_up(lc, "alice", "pw1", headers=session("x" * 25))
    for stale in ("x" * 25, other_app_token, "garbage!"):
        response = lc.post("/1.1/login", {"username": "alice", "password": "pw1"}, **session(stale))
        assert response.status_code == 200


@pytest.mark.parametrize("body, error", [
    ({}, Errors.USERNAME_MISSING),
    ({"username": "alice"}, Errors.PASSWORD_MISSING),
    ({"username": "alice", "password": "wrong"}, Errors.PASSWORD_MISMATCH),
    ({"username": "nobody", "password": "pw1"}, Errors.USER_NOT_FOUND),
    ({"email": "nobody@example.com", "password": "pw1"}, Errors.USER_NOT_FOUND),
    ({"mobilePhoneNumber": "+8618999999999", "password": "pw1"}, Errors.PHONE_USER_NOT_FOUND),
    ({"mobilePhoneNumber": "123", "password": "pw1"}, Errors.INVALID_PHONE),
], ids=["nothing", "no-password", "wrong-password", "unknown-username", "unknown-email", "unknown-number",
        "bad-number"])
def test_login_errors(lc, body, error):
    sign_up(lc, "alice", "pw1")
    assert_error(lc.post("/1.1/login", body), error)


def test_a_user_made_by_phone_without_password_cannot_log_in_with_an_empty_one(lc, app):
    phone = unique_phone()
    user = EndUserFactory(app=app, username=phone, mobile_phone_number=phone, mobile_phone_verified=True,
                          raw_password=None)
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": ""}), Errors.PASSWORD_MISSING)
    # Not even with what is stored in place of a password.
    assert_error(lc.post("/1.1/login", {"mobilePhoneNumber": phone, "password": user.password}),
                 Errors.PASSWORD_MISMATCH)


# --- lockout --------------------------------------------------------------------------------------------

def test_more_than_six_failed_logins_lock_the_user_even_with_the_right_password(lc):
    sign_up(lc, "alice", "pw1")
    sign_up(lc, "bob", "pw2")
    for i in range(7):
        assert_error(lc.post("/1.1/login", {"username": "alice", "password": f"bad{i}"}), Errors.PASSWORD_MISMATCH)
    locked = lc.post("/1.1/login", {"username": "alice", "password": "pw1"})
    assert_error(locked, Errors.LOGIN_LOCKED)
    # Another user of the app is not concerned.
    assert lc.post("/1.1/login", {"username": "bob", "password": "pw2"}).status_code == 200


def test_successful_logins_neither_count_nor_forgive_failures(lc):
    sign_up(lc, "alice", "pw1")
    for _ in range(6):
        assert_error(lc.post("/1.1/login", {"username": "alice", "password": "bad"}), Errors.PASSWORD_MISMATCH)
    assert lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).status_code == 200
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "bad"}), Errors.PASSWORD_MISMATCH)
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "pw1"}), Errors.LOGIN_LOCKED)


# --- current user -----------------------------------------------------------------------------------------

def test_users_me_takes_the_query_token_over_the_header(lc):
    alice = sign_up(lc, "alice")["sessionToken"]
    bob = sign_up(lc, "bob")["sessionToken"]
    # The Python SDK's become(token): the new token in the query, the old current user's in the header.
    assert lc.get(f"/1.1/users/me?session_token={bob}", **session(alice)).json()["username"] == "bob"
    assert lc.get("/1.1/users/me", **session(alice)).json()["username"] == "alice"
    assert lc.get(f"/1.1/users/me?session_token={bob}").json()["sessionToken"] == bob


@pytest.mark.parametrize("headers", [{}, session("0" * 25), session("not a token")])
def test_users_me_without_a_valid_token_is_211(lc, headers):
    response = lc.get("/1.1/users/me", **headers)
    assert_error(response, Errors.USER_NOT_FOUND)


def test_a_token_of_another_app_is_nobody_here(lc, client_of, app_with):
    token = sign_up(client_of(app_with()), "zed")["sessionToken"]
    assert_error(lc.get("/1.1/users/me", **session(token)), Errors.USER_NOT_FOUND)


def test_tokens_are_stored_hashed(lc):
    token = sign_up(lc)["sessionToken"]
    stored = Session.objects.get()
    assert token not in stored.token_hash and len(stored.token_hash) == 64


# --- one user ----------------------------------------------------------------------------------------------

PUBLIC = {"objectId", "username", "createdAt", "updatedAt"}


@pytest.mark.parametrize("path", ["/1.1/users/{}", "/1.1/classes/_User/{}"])
def test_a_stranger_sees_only_a_users_public_fields(lc, path):
    """With the app key alone, or another user's session: the objectId, the username and the dates;
    never the number, the email, the flags or a custom field (Parse Server's protectedFields)."""
    body = sign_up(lc, "alice", email="alice@example.com", mobilePhoneNumber=unique_phone(), nickname="Al",
                   profile={"city": "杭州"})
    bob = sign_up(lc, "bob")
    url = path.format(body["objectId"])
    for headers in ({}, session(bob["sessionToken"]), session("0" * 25)):
        got = lc.get(url, **headers)
        assert got.status_code == 200
        assert set(got.json()) == PUBLIC, headers
        assert got.json()["username"] == "alice" and got.json()["objectId"] == body["objectId"]
    assert_error(lc.get("/1.1/users/ffffffffffffffffffffffff"), Errors.USER_NOT_FOUND)


def test_the_user_itself_and_the_master_key_see_every_field(lc, lc_master):
    phone = unique_phone()
    body = sign_up(lc, "alice", email="alice@example.com", mobilePhoneNumber=phone, nickname="Al")
    for client, headers in ((lc, session(body["sessionToken"])), (lc_master, {})):
        shown = client.get(f"/1.1/users/{body['objectId']}", **headers).json()
        assert (shown["mobilePhoneNumber"], shown["email"], shown["nickname"]) == (phone, "alice@example.com", "Al")
        assert shown["mobilePhoneVerified"] is False and "sessionToken" not in shown and "password" not in shown


def test_a_stranger_does_not_read_a_number_from_the_username_it_gave_the_user(lc, outbox):
    """usersByMobilePhone names a new user after its number: that username is not shown to strangers."""
    user = sign_up_by_phone(lc, outbox)
    shown = lc.get(f"/1.1/users/{user['objectId']}").json()
    assert set(shown) == PUBLIC - {"username"}
    assert user["mobilePhoneNumber"] not in str(shown)


@pytest.mark.parametrize("path", ["/1.1/users/{}", "/1.1/classes/_User/{}?fetchWhenSave=false"])
def test_a_user_changes_itself_with_its_session(lc, path):
    body = sign_up(lc, "alice", nickname="Al", score=1, tags=["a"])
    url = path.format(body["objectId"])
    response = lc.put(url, {"nickname": "Ally", "score": {"__op": "Increment", "amount": 2},
                            "tags": {"__op": "AddUnique", "objects": ["a", "b"]}, "extra": True},
                      **session(body["sessionToken"]))
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"objectId", "updatedAt"}
    me = lc.get("/1.1/users/me", **session(body["sessionToken"])).json()
    assert (me["nickname"], me["score"], me["tags"], me["extra"]) == ("Ally", 3, ["a", "b"], True)
    assert me["updatedAt"] == response.json()["updatedAt"] and me["updatedAt"] > body["createdAt"]
    assert lc.put(url, {"extra": {"__op": "Delete"}}, **session(body["sessionToken"])).status_code == 200
    assert "extra" not in lc.get("/1.1/users/me", **session(body["sessionToken"])).json()


def test_a_change_answers_the_whole_user_when_asked(lc):
    body = sign_up(lc, "alice")
    for query in ("new=true", "fetchWhenSave=true"):
        response = lc.put(f"/1.1/users/{body['objectId']}?{query}", {"nickname": "Al"}, **session(body["sessionToken"]))
        assert response.json()["nickname"] == "Al" and response.json()["username"] == "alice"


def test_no_one_else_changes_or_deletes_a_user_but_the_master_key_can(lc, lc_master):
    alice = sign_up(lc, "alice")
    bob = sign_up(lc, "bob")
    url = f"/1.1/users/{alice['objectId']}"
    for headers in ({}, session(bob["sessionToken"]), session("0" * 25)):
        for call in (lambda: lc.put(url, {"nickname": "x"}, **headers), lambda: lc.delete(url, **headers),
                     lambda: lc.put(f"{url}/refreshSessionToken", raw="null", **headers)):
            assert_error(call(), Errors.SESSION_REQUIRED)
    assert lc_master.put(url, {"nickname": "set by master", "mobilePhoneNumber": unique_phone(),
                               "mobilePhoneVerified": True}).status_code == 200
    shown = lc_master.get(url).json()
    assert shown["nickname"] == "set by master" and shown["mobilePhoneVerified"] is True
    assert lc_master.delete(f"/1.1/users/{bob['objectId']}").json() == {}
    assert_error(lc.get(f"/1.1/users/{bob['objectId']}"), Errors.USER_NOT_FOUND)


def test_a_client_cannot_mark_its_own_number_verified(lc):
    body = sign_up(lc, "alice", mobilePhoneNumber=unique_phone())
    # Accepted, and the flags are left alone.
    response = lc.put(f"/1.1/users/{body['objectId']}", {"mobilePhoneVerified": True, "emailVerified": True},
                      **session(body["sessionToken"]))
    assert response.status_code == 200
    assert lc.get(f"/1.1/users/{body['objectId']}", **session(body["sessionToken"])).json()["mobilePhoneVerified"] is False


def test_changing_the_number_unverifies_it_and_taken_values_are_refused(lc, lc_master):
    phone = unique_phone()
    alice = sign_up(lc, "alice", mobilePhoneNumber=phone)
    assert lc_master.put(f"/1.1/users/{alice['objectId']}", {"mobilePhoneVerified": True}).status_code == 200
    bob = sign_up(lc, "bob", email="b@example.com")
    url, mine = f"/1.1/users/{alice['objectId']}", session(alice["sessionToken"])
    assert_error(lc.put(url, {"username": "bob"}, **mine), Errors.USERNAME_TAKEN)
    assert_error(lc.put(url, {"email": "b@example.com"}, **mine), Errors.EMAIL_TAKEN)
    assert_error(lc.put(f"/1.1/users/{bob['objectId']}", {"mobilePhoneNumber": phone},
                        **session(bob["sessionToken"])), Errors.PHONE_TAKEN)
    assert_error(lc.put(url, {"mobilePhoneNumber": "999"}, **mine), Errors.INVALID_PHONE)
    assert lc.get(url, **mine).json()["mobilePhoneVerified"] is True
    new_phone = unique_phone()
    assert lc.put(url, {"mobilePhoneNumber": new_phone}, **mine).status_code == 200
    shown = lc.get(url, **mine).json()
    assert shown["mobilePhoneNumber"] == new_phone and shown["mobilePhoneVerified"] is False


def test_a_user_deletes_itself_and_its_sessions_end(lc):
    body = sign_up(lc, "alice")
    response = lc.delete(f"/1.1/classes/_User/{body['objectId']}", {}, **session(body["sessionToken"]))
    assert response.status_code == 200 and response.json() == {}
    assert_error(lc.get("/1.1/users/me", **session(body["sessionToken"])), Errors.USER_NOT_FOUND)
    assert not Session.objects.exists()


# --- refreshSessionToken, updatePassword ---------------------------------------------------------------

def test_refresh_session_token_ends_every_session_and_gives_a_new_one(lc, lc_master):
    body = sign_up(lc, "alice", "pw1")
    other = lc.post("/1.1/login", {"username": "alice", "password": "pw1"}).json()["sessionToken"]
    response = lc.put(f"/1.1/users/{body['objectId']}/refreshSessionToken", raw="null", **session(body["sessionToken"]))
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["username"] == "alice" and TOKEN.match(fresh["sessionToken"])
    assert fresh["sessionToken"] not in (body["sessionToken"], other)
    for old in (body["sessionToken"], other):
        assert_error(lc.get("/1.1/users/me", **session(old)), Errors.USER_NOT_FOUND)
    assert lc.get("/1.1/users/me", **session(fresh["sessionToken"])).status_code == 200
    by_master = lc_master.put(f"/1.1/users/{body['objectId']}/refreshSessionToken", raw="null").json()
    assert_error(lc.get("/1.1/users/me", **session(fresh["sessionToken"])), Errors.USER_NOT_FOUND)
    assert lc.get("/1.1/users/me", **session(by_master["sessionToken"])).status_code == 200


def test_update_password_needs_the_old_one_and_ends_the_old_sessions(lc):
    body = sign_up(lc, "alice", "pw1")
    url, mine = f"/1.1/users/{body['objectId']}/updatePassword", session(body["sessionToken"])
    assert_error(lc.put(url, {"old_password": "nope", "new_password": "pw2"}, **mine), Errors.PASSWORD_MISMATCH)
    assert_error(lc.put(url, {"old_password": "pw1"}, **mine), Errors.PASSWORD_MISSING)
    assert_error(lc.put(url, {"old_password": "pw1", "new_password": "pw2"}), Errors.SESSION_REQUIRED)
    response = lc.put(url, {"old_password": "pw1", "new_password": "pw2"}, **mine)
    assert response.status_code == 200
    token = response.json()["sessionToken"]
    assert TOKEN.match(token) and token != body["sessionToken"] and response.json()["username"] == "alice"
    assert_error(lc.get("/1.1/users/me", **mine), Errors.USER_NOT_FOUND)
    assert lc.get("/1.1/users/me", **session(token)).status_code == 200
    assert_error(lc.post("/1.1/login", {"username": "alice", "password": "pw1"}), Errors.PASSWORD_MISMATCH)
    assert lc.post("/1.1/login", {"username": "alice", "password": "pw2"}).status_code == 200


def test_dates_are_plain_iso_strings_in_utc(lc):
    body = sign_up(lc, "alice")
    created = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
    assert created.utcoffset().total_seconds() == 0


def test_third_party_login_data_is_shown_to_the_user_and_the_master_key_only(lc, lc_master):
    body = sign_up(lc, "alice", authData={"weixin": {"openid": "o1", "access_token": "secret"}})
    url = f"/1.1/users/{body['objectId']}"
    assert "authData" not in lc.get(url).json()
    other = sign_up(lc, "bob")["sessionToken"]
    assert "authData" not in lc.get(url, **session(other)).json()
    assert lc.get(url, **session(body["sessionToken"])).json()["authData"]["weixin"]["openid"] == "o1"
    assert lc_master.get(url).json()["authData"]["weixin"]["access_token"] == "secret"
    assert "authData" in lc.get("/1.1/users/me", **session(body["sessionToken"])).json()


# --- bounds of a user's fields -------------------------------------------------------------------------

def test_custom_fields_are_bounded_in_size_however_they_grow(lc, settings):
    assert settings.USER_CUSTOM_FIELDS_MAX_BYTES == 4096
    assert_error(lc.post("/1.1/users", {"username": "alice", "password": "pw1", "bio": "x" * 4100}),
                 Errors.OBJECT_TOO_LARGE, "A user's custom fields may take at most 4096 bytes of JSON.")
    body = sign_up(lc, "alice", bio="短" * 100)
    url, mine = f"/1.1/users/{body['objectId']}", session(body["sessionToken"])
    grow = {"tags": {"__op": "Add", "objects": ["y" * 1000]}}
    answers = [lc.put(url, grow, **mine).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 413]
    assert_error(lc.put(url, grow, **mine), Errors.OBJECT_TOO_LARGE,
                 "A user's custom fields may take at most 4096 bytes of JSON.")
    assert len(EndUser.objects.get(object_id=body["objectId"]).custom["tags"]) == 3


@pytest.mark.parametrize("key", ["1st", "has space", "has-dash", "点", "k" * 65])
def test_a_custom_field_needs_a_leancloud_key_name(lc, key):
    assert_error(lc.post("/1.1/users", {"username": "alice", "password": "pw1", key: 1}), Errors.INVALID_KEY_NAME)
    assert not EndUser.objects.exists()


def test_key_names_as_leancloud_takes_them(lc):
    token = sign_up(lc, "alice", nick_name2="a", ACL={"*": {"read": True}}, k=1)["sessionToken"]
    assert {"nick_name2", "ACL", "k"} <= set(lc.get("/1.1/users/me", **session(token)).json())


@pytest.mark.parametrize("path", ["/1.1/users/%00", "/1.1/users/%00/refreshSessionToken", "/1.1/classes/_User/%00",
                                  "/1.1/users/" + "f" * 300])
def test_an_object_id_that_cannot_be_one_is_an_unknown_user(lc_master, caplog, path):
    call = lc_master.put if path.endswith("refreshSessionToken") else lc_master.get
    assert_error(call(path), Errors.USER_NOT_FOUND)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


def test_a_username_over_255_characters_is_refused(lc, caplog):
    assert_error(lc.post("/1.1/users", {"username": "u" * 256, "password": "pw"}), Errors.BAD_REQUEST,
                 "username may be at most 255 characters.")
    body = sign_up(lc, "u" * 255)
    assert_error(lc.put(f"/1.1/users/{body['objectId']}", {"username": "v" * 256}, **session(body["sessionToken"])),
                 Errors.BAD_REQUEST, "username may be at most 255 characters.")
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


@pytest.mark.parametrize("email", ["a" * 250 + "@example.com", "not an email", "a@b@example.com"])
def test_an_email_that_cannot_be_one_is_125(lc, caplog, email):
    assert_error(lc.post("/1.1/users", {"username": "alice", "password": "pw", "email": email}), Errors.INVALID_EMAIL)
    assert not EndUser.objects.exists()
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


def test_a_phone_sign_up_with_a_long_username_is_refused(lc, outbox):
    from tests.accounts.support import code_for

    phone = unique_phone()
    code = code_for(lc, outbox, phone)
    response = lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": phone, "smsCode": code, "username": "u" * 256})
    assert_error(response, Errors.BAD_REQUEST, "username may be at most 255 characters.")


def test_an_increment_past_a_floats_range_is_refused(lc, caplog):
    body = sign_up(lc, "alice", score=1e308)
    url, mine = f"/1.1/users/{body['objectId']}", session(body["sessionToken"])
    assert_error(lc.put(url, {"score": {"__op": "Increment", "amount": 1e308}}, **mine), Errors.BAD_REQUEST,
                 "The result of an Increment is out of range.")
    assert float(lc.get("/1.1/users/me", **mine).json()["score"]) == 1e308  # (jsonb gives it back as an integer)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
