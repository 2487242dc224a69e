"""Users from a LeanCloud `_User` export (`accounts.leancloud_export` reads the file)."""
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from smsplatform.tokens import digest

from ..leancloud_export import BadRow, ExportRow, user_from_export
from ..models import App, EndUser, Session

IMPORT_BATCH_SIZE = 5000


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)  # position: (where, problem)

    def bad_rows(self) -> list[tuple[str, str]]:
        """(where, problem) of every bad row, in the export's order."""
        return [self.bad[position] for position in sorted(self.bad)]


def import_leancloud_users(*, app: App, rows, batch_size: int = IMPORT_BATCH_SIZE) -> ImportReport:
    """Add the users of a LeanCloud export (`leancloud_export.read_export`) to `app`, a batch at a time.

    A row whose objectId the app has is skipped; a bad row (unreadable, or whose username, email or
    number another user has) is reported with where it stands, and the rest go on.
    """
    report = ImportReport()
    batch: list[tuple[ExportRow, EndUser, str]] = []
    now = timezone.now()
    for row in rows:
        if row.problem:
            report.bad[row.position] = (row.where, row.problem)
            continue
        try:
            user, token = user_from_export(app, row.data, now=now)
        except BadRow as exc:
            report.bad[row.position] = (row.where, str(exc))
            continue
        batch.append((row, user, token))
        if len(batch) >= batch_size:
            _import_batch(app=app, batch=batch, report=report)
            batch = []
    if batch:
        _import_batch(app=app, batch=batch, report=report)
    return report


def _import_batch(*, app: App, batch: list[tuple[ExportRow, EndUser, str]], report: ImportReport) -> None:
    existing = EndUser.objects.filter(app=app)
    known_ids = set(existing.filter(object_id__in=[u.object_id for _, u, _ in batch])
                    .values_list("object_id", flat=True))
    taken = {
        "username": set(existing.filter(username__in=[u.username for _, u, _ in batch])
                        .values_list("username", flat=True)),
        "email": set(existing.filter(email__in=[u.email for _, u, _ in batch if u.email])
                     .values_list("email", flat=True)),
        "mobilePhoneNumber": set(
            existing.filter(mobile_phone_number__in=[u.mobile_phone_number for _, u, _ in batch if u.mobile_phone_number])
            .values_list("mobile_phone_number", flat=True)),
    }
    accepted = []
    for row, user, token in batch:
        if user.object_id in known_ids:
            report.skipped += 1
            continue
        values = {"username": user.username, "email": user.email, "mobilePhoneNumber": user.mobile_phone_number}
        clash = next((name for name, value in values.items() if value and value in taken[name]), None)
        if clash:
            report.bad[row.position] = (row.where, f"{clash} {values[clash]!r} belongs to another user")
            continue
        known_ids.add(user.object_id)
        for name, value in values.items():
            if value:
                taken[name].add(value)
        accepted.append((row, user, token))
    try:
        with transaction.atomic():
            _insert_imported(accepted)
        report.imported += len(accepted)
    except IntegrityError:
        # Someone else wrote a clashing user meanwhile: go one by one to find which.
        for row, user, token in accepted:
            user.pk = None
            try:
                with transaction.atomic():
                    _insert_imported([(row, user, token)])
                report.imported += 1
            except IntegrityError:
                report.bad[row.position] = (row.where, "objectId, username, email or number belongs to another user")


def _insert_imported(rows: list[tuple[ExportRow, EndUser, str]]) -> None:
    users = EndUser.objects.bulk_create([user for _, user, _ in rows])
    with_tokens = [(user, token) for user, (_, _, token) in zip(users, rows) if token]
    if with_tokens and any(user.pk is None for user, _ in with_tokens):
        ids = dict(EndUser.objects.filter(app_id=users[0].app_id, object_id__in=[u.object_id for u, _ in with_tokens])
                   .values_list("object_id", "pk"))
        for user, _ in with_tokens:
            user.pk = ids[user.object_id]
    Session.objects.bulk_create(
        [Session(user=user, token_hash=digest(token)) for user, token in with_tokens],
        ignore_conflicts=True,
    )
