"""Reading a LeanCloud `_User` export: JSON lines, a JSON array, or `{"results": [...]}`."""
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from django.contrib.auth.hashers import make_password

from smsplatform.phone import InvalidPhoneNumber, normalize_phone

from .hashers import encoded_from_export
from .models import EndUser, object_id_validator

# Columns of an exported row that are not custom fields.
EXPORT_COLUMNS = {"objectId", "createdAt", "updatedAt", "username", "password", "salt", "email", "emailVerified",
                  "mobilePhoneNumber", "mobilePhoneVerified", "sessionToken", "className", "__type"}


class BadRow(ValueError):
    pass


@dataclass
class ExportRow:
    position: int
    where: str  # "line 12" (JSON lines) or "row 12" (JSON array)
    data: dict | None
    problem: str = ""


def read_export(path: Path) -> Iterator[ExportRow]:
    """Every row of the export with where it stands; a row that is not a JSON object has `problem`.

    JSON lines are read a line at a time; the other two forms are read whole.
    """
    with open(path, encoding="utf-8-sig") as lines:
        first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("{") and _is_lone_row(first):
        yield from _read_lines(path)
        return
    try:
        with open(path, encoding="utf-8-sig") as whole:
            data = json.load(whole)
    except ValueError:
        if first.lstrip().startswith("["):
            raise
        yield from _read_lines(path)  # JSON lines whose first line is bad
        return
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if not isinstance(data, list):
        data = [data]
    for number, item in enumerate(data, 1):
        yield _row(number, f"row {number}", item)


def _is_lone_row(line: str) -> bool:
    """Whether a first line is a row of its own, not the opening of `{"results": [...]}`."""
    try:
        item = json.loads(line)
    except ValueError:
        return False
    return not (isinstance(item, dict) and isinstance(item.get("results"), list))


def _read_lines(path: Path) -> Iterator[ExportRow]:
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                yield ExportRow(number, f"line {number}", None, f"not JSON ({exc.msg})")
                continue
            yield _row(number, f"line {number}", item)


def _row(position: int, where: str, item) -> ExportRow:
    if not isinstance(item, dict):
        return ExportRow(position, where, None, "not a JSON object")
    return ExportRow(position, where, item)


def _date(value, name: str) -> datetime:
    if isinstance(value, dict) and value.get("__type") == "Date":
        value = value.get("iso")
    if not isinstance(value, str):
        raise BadRow(f"{name} is not a date")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRow(f"{name} {value!r} is not an ISO date")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _text(row: dict, name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRow(f"{name} is not a string")
    return value


def user_from_export(app, row: dict, *, now: datetime) -> tuple[EndUser, str]:
    """The user an exported row describes (unsaved), and its session token ("" for none)."""
    object_id = row.get("objectId")
    if not isinstance(object_id, str) or not object_id_validator.regex.match(object_id):
        raise BadRow(f"objectId {object_id!r} is not 24 lowercase hexadecimal characters")
    username = _text(row, "username")
    if not username:
        raise BadRow("username is missing")
    email = _text(row, "email")
    phone = _text(row, "mobilePhoneNumber")
    if phone:
        try:
            phone = normalize_phone(phone)
        except InvalidPhoneNumber:
            raise BadRow(f"mobilePhoneNumber {phone!r} is not a valid number")
    hashed, salt = _text(row, "password"), _text(row, "salt")
    if hashed and not salt:
        raise BadRow("password without salt")
    created_at = _date(row["createdAt"], "createdAt") if row.get("createdAt") is not None else now
    updated_at = _date(row["updatedAt"], "updatedAt") if row.get("updatedAt") is not None else created_at
    user = EndUser(
        app=app, object_id=object_id, username=username,
        password=encoded_from_export(salt=salt, hashed=hashed) if hashed else make_password(None),
        email=email, email_verified=row.get("emailVerified") is True and bool(email),
        mobile_phone_number=phone, mobile_phone_verified=row.get("mobilePhoneVerified") is True and bool(phone),
        custom={key: value for key, value in row.items() if key not in EXPORT_COLUMNS and not key.startswith("_")},
        created_at=created_at, updated_at=updated_at,
    )
    return user, _text(row, "sessionToken")
