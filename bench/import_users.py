"""Benchmark: import a generated LeanCloud `_User` export with `manage.py import_leancloud_users`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsp_bench .venv/bin/python bench/import_users.py --count 100000

Makes a fresh app in the database DATABASE_URL names (migrating it first), writes an export of
--count users (JSON lines, passwords hashed with LeanCloud's scheme), times the import, checks that
every user arrived and that an imported password still logs in, prints the result, and deletes
the app and its users unless --keep. A benchmark, not a test: nothing here asserts a duration.
"""
import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")  # as bench/common.py

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import check_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.hashers import leancloud_digest  # noqa: E402
from accounts.models import EndUser  # noqa: E402
from accounts.services.app_settings import create_app  # noqa: E402

PASSWORD = "bench-pässword"


def write_export(path: Path, count: int) -> None:
    # Hashing costs ~0.2 ms a user; a pool of salts keeps generation quick and every row realistic.
    salts = [secrets.token_hex(12) for _ in range(64)]
    hashes = [leancloud_digest(PASSWORD, salt) for salt in salts]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(json.dumps({
                "objectId": f"{n:024x}",
                "username": f"user{n}",
                "salt": salts[n % 64],
                "password": hashes[n % 64],
                "email": f"user{n}@example.com",
                "emailVerified": n % 3 == 0,
                "mobilePhoneNumber": f"+86139{n:08d}",
                "mobilePhoneVerified": n % 2 == 0,
                "sessionToken": secrets.token_hex(13)[:25] if n % 4 == 0 else None,
                "createdAt": "2019-05-06T07:08:09.123Z",
                "updatedAt": {"__type": "Date", "iso": "2020-01-02T03:04:05.678Z"},
                "ACL": {"*": {"read": True}},
                "nickname": f"昵称{n}",
                "level": n % 100,
            }, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the app and its users in the database")
    args = parser.parse_args()

    call_command("migrate", verbosity=0, interactive=False)
    app = create_app(name=f"bench-import-{secrets.token_hex(4)}")
    with tempfile.TemporaryDirectory() as directory:
        export = Path(directory) / "users.jsonl"
        started = time.perf_counter()
        write_export(export, args.count)
        generated = time.perf_counter() - started
        size_mb = export.stat().st_size / 1e6

        command = ["import_leancloud_users", app.app_id, str(export)]
        if args.batch_size:
            command += ["--batch-size", str(args.batch_size)]
        out = StringIO()
        started = time.perf_counter()
        call_command(*command, stdout=out, stderr=out)
        elapsed = time.perf_counter() - started

    imported = EndUser.objects.filter(app=app).count()
    sample = EndUser.objects.filter(app=app).order_by("?").first()
    password_ok = sample is not None and check_password(PASSWORD, sample.password)
    print(f"database:   {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"export:     {args.count} users, {size_mb:.1f} MB, generated in {generated:.1f} s")
    print(f"command:    {out.getvalue().strip()}")
    print(f"import:     {elapsed:.2f} s, {imported / elapsed:,.0f} users/s; {imported} in the app")
    print(f"passwords:  an imported user's old password {'verifies' if password_ok else 'DOES NOT verify'}")
    if not args.keep:
        started = time.perf_counter()
        app.delete()
        print(f"cleanup:    app and users deleted in {time.perf_counter() - started:.1f} s")
    if imported != args.count or not password_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
