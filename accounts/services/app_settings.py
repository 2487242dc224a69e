"""Making apps and changing their settings (the `create_app` and `app_settings` commands, the demo app)."""
from django.core.exceptions import ValidationError
from django.db import models, transaction

from ..models import Account, App

DEFAULT_ACCOUNT_NAME = "default"
PLATFORM_ACCOUNT_NAME = "smsplatform"


@transaction.atomic
def create_app(*, name: str, account: Account | None = None, app_id: str = "", app_key: str = "",
               master_key: str = "") -> App:
    """A new app with the given keys, or freshly generated ones where none is given."""
    if account is None:
        account, _ = Account.objects.get_or_create(name=DEFAULT_ACCOUNT_NAME)
    app = App(account=account, name=name, app_id=app_id, app_key=app_key, master_key=master_key)
    app.fill_missing_keys()
    app.full_clean()
    app.save()
    return app


def _coerce(field: models.Field, raw: str):
    if isinstance(field, models.BooleanField):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValidationError({field.name: f"{raw!r} is not true or false."})
    try:
        return field.to_python(raw)
    except ValidationError as exc:
        raise ValidationError({field.name: exc.messages})


@transaction.atomic
def update_app_settings(*, app: App, changes: dict[str, str]) -> App:
    """Set the named settings from their text form; unknown names and bad values change nothing."""
    unknown = sorted(set(changes) - set(App.SETTINGS))
    if unknown:
        raise ValidationError(f"Unknown setting(s): {', '.join(unknown)}. Settings: {', '.join(App.SETTINGS)}.")
    for name, raw in changes.items():
        setattr(app, name, _coerce(App._meta.get_field(name), raw))
    app.full_clean()
    app.save()
    return app


ROTATABLE_KEYS = ("app_key", "master_key", "hook_key")


@transaction.atomic
def rotate_keys(*, app: App, keys: tuple[str, ...] = ("app_key", "master_key")) -> App:
    """Give `app` new `keys` (of ROTATABLE_KEYS): the old ones are refused from the next request on, by
    every server process (`selectors.app_by_app_id` sees the saved row at once)."""
    unknown = set(keys) - set(ROTATABLE_KEYS)
    if unknown or not keys:
        raise ValueError(f"keys to rotate: some of {', '.join(ROTATABLE_KEYS)}")
    app = App.objects.select_for_update().get(pk=app.pk)
    for key in keys:
        setattr(app, key, "")
    app.fill_missing_keys()
    app.save()
    return app


def platform_app() -> App:
    """smsplatform's own app (in its own account, whose messages are free): what its alerts are sent from."""
    account = Account.objects.filter(is_platform=True).order_by("id").first()
    if account is None:
        taken = Account.objects.filter(name=PLATFORM_ACCOUNT_NAME).exists()
        account = Account.objects.create(name=f"{PLATFORM_ACCOUNT_NAME} (system)" if taken else PLATFORM_ACCOUNT_NAME,
                                         is_platform=True)
    app = App.objects.filter(account=account).order_by("id").first()
    return app or create_app(name="smsplatform", account=account)
