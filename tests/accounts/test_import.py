"""`manage.py import_leancloud_users APP_ID FILE` on generated LeanCloud exports."""
import base64
import hashlib
import json
import secrets
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import EndUser
from smsplatform.errors import Errors
from tests.factories import EndUserFactory
from tests.support import assert_error, session

pytestmark = pytest.mark.django_db


def leancloud_hash(password: str, salt: str) -> str:
    """LeanCloud's scheme as the contract states it, written here apart from the hasher under test:
    SHA-512 of (salt + password), SHA-512 applied 512 more times to the digest, base64."""
    digest = hashlib.sha512((salt + password).encode()).digest()
    for _ in range(512):
        digest = hashlib.sha512(digest).digest()
    return base64.b64encode(digest).decode()


def export_row(n: int, password: str = "old-pässword", **extra) -> dict:
    salt = secrets.token_hex(16)
    return {
        "objectId": f"{n:024x}",
        "username": f"user{n}",
        "salt": salt,
        "password": leancloud_hash(password, salt),
        "email": f"user{n}@example.com",
        "emailVerified": True,
        "mobilePhoneNumber": f"+86186{n:08d}",
        "mobilePhoneVerified": n % 2 == 0,
        "createdAt": "2019-05-06T07:08:09.123Z",
        "updatedAt": {"__type": "Date", "iso": "2020-01-02T03:04:05.678Z"},
        "ACL": {"*": {"read": True}},
        "nickname": f"昵称{n}",
        "level": n,
        **extra,
    }


def write(path, rows, form="jsonl"):
    if form == "jsonl":
        path.write_text("".join(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) + "\n"
                                for row in rows), encoding="utf-8")
    elif form == "array":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    elif form == "results":
        path.write_text(json.dumps({"results": rows}, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text(json.dumps({"results": rows}, ensure_ascii=False), encoding="utf-8")
    return path


def run(app, path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_leancloud_users", app.app_id, str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imported_users_keep_their_data_and_log_in_with_their_old_password(lc, lc_master, app, tmp_path,
                                                                            real_password_hashers):
    row = export_row(1)
    out, err = run(app, write(tmp_path / "users.jsonl", [row, export_row(2)]))
    assert out.startswith("Imported 2, skipped 0 already present, 0 bad row(s)") and err == ""
    shown = lc_master.get(f"/1.1/users/{row['objectId']}").json()
    assert shown == {
        "objectId": row["objectId"], "username": "user1", "email": "user1@example.com", "emailVerified": True,
        "mobilePhoneNumber": "+8618600000001", "mobilePhoneVerified": False,
        "createdAt": "2019-05-06T07:08:09.123Z", "updatedAt": "2020-01-02T03:04:05.678Z",
        "ACL": {"*": {"read": True}}, "nickname": "昵称1", "level": 1,
    }
    stored = EndUser.objects.get(object_id=row["objectId"])
    assert stored.password.startswith("leancloud_sha512$")

    assert_error(lc.post("/1.1/login", {"username": "user1", "password": "wrong"}), Errors.PASSWORD_MISMATCH)
    assert EndUser.objects.get(pk=stored.pk).password == stored.password
    logged_in = lc.post("/1.1/login", {"username": "user1", "password": "old-pässword"})
    assert logged_in.status_code == 200 and logged_in.json()["objectId"] == row["objectId"]
    upgraded = EndUser.objects.get(pk=stored.pk).password
    assert upgraded.startswith("pbkdf2_sha256$")
    assert lc.post("/1.1/login", {"email": "user1@example.com", "password": "old-pässword"}).status_code == 200
    assert_error(lc.post("/1.1/login", {"username": "user1", "password": "wrong"}), Errors.PASSWORD_MISMATCH)


@pytest.mark.parametrize("form", ["jsonl", "array", "results", "results-on-one-line"])
def test_the_three_export_forms(app, tmp_path, form):
    out, _ = run(app, write(tmp_path / "users.json", [export_row(n) for n in range(1, 6)], form), "--batch-size", "2")
    assert out.startswith("Imported 5, skipped 0 already present, 0 bad row(s)")
    assert EndUser.objects.filter(app=app).count() == 5


def test_known_users_are_skipped_and_bad_rows_reported_by_line(lc, app, tmp_path):
    EndUserFactory(app=app, username="taken")
    rows = [
        export_row(1),
        "{not json\n",
        export_row(2, objectId="NOT-AN-ID"),
        export_row(3, username="user1"),  # the username of line 1
        export_row(4, username="taken"),  # a user of the app already has it
        export_row(5, mobilePhoneNumber="12345"),
        "[1, 2]\n",
        export_row(6, salt=""),
        export_row(7),
    ]
    path = write(tmp_path / "users.jsonl", rows)
    out, err = run(app, path)
    assert out.startswith("Imported 2, skipped 0 already present, 7 bad row(s)")
    reported = err.splitlines()
    assert [line.split(":")[0] for line in reported] == [f"line {n}" for n in (2, 3, 4, 5, 6, 7, 8)]
    assert "objectId" in reported[1] and "username 'user1'" in reported[2] and "username 'taken'" in reported[3]
    assert "mobilePhoneNumber" in reported[4] and "not a JSON object" in reported[5] and "salt" in reported[6]
    out, _ = run(app, path)
    assert out.startswith("Imported 0, skipped 2 already present, 7 bad row(s)")
    assert EndUser.objects.filter(app=app).count() == 3


def test_a_users_exported_session_token_stays_logged_in(lc, app, tmp_path):
    token = "a" * 20 + "b1c2d"
    row = export_row(1, sessionToken=token)
    run(app, write(tmp_path / "users.jsonl", [row, export_row(2)]))
    me = lc.get("/1.1/users/me", **session(token)).json()
    assert me["objectId"] == row["objectId"] and me["sessionToken"] == token
    assert "sessionToken" not in lc.get(f"/1.1/users/{row['objectId']}").json()


def test_a_row_without_password_can_only_use_sms(lc, app, tmp_path):
    row = export_row(1)
    del row["password"], row["salt"]
    out, _ = run(app, write(tmp_path / "users.jsonl", [row]))
    assert out.startswith("Imported 1,")
    assert_error(lc.post("/1.1/login", {"username": "user1", "password": ""}), Errors.PASSWORD_MISSING)
    assert_error(lc.post("/1.1/login", {"username": "user1", "password": "x"}), Errors.PASSWORD_MISMATCH)


def test_the_same_export_may_go_into_two_apps(app, app_with, tmp_path):
    other = app_with()
    path = write(tmp_path / "users.jsonl", [export_row(1)])
    run(app, path)
    out, _ = run(other, path)
    assert out.startswith("Imported 1,")


def test_an_unknown_app_or_unreadable_file_stops_the_command(app, tmp_path):
    with pytest.raises(CommandError, match="No app"):
        run(type("A", (), {"app_id": "nosuchapp"})(), tmp_path / "x.jsonl")
    with pytest.raises(CommandError, match="Cannot read"):
        run(app, tmp_path / "missing.jsonl")
    (tmp_path / "broken.json").write_text("[{\"objectId\": ")
    with pytest.raises(CommandError, match="not a LeanCloud export"):
        run(app, tmp_path / "broken.json")
