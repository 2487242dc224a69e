import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smsplatform.redis_client import redis_client
from smsplatform.tokens import digest

from .models import App, Purse, EndUser, Session, key_validator, object_id_validator

KEY = key_validator.regex
OBJECT_ID = object_id_validator.regex

# app_id -> (read at, app): every authenticated request needs its app; most need nothing else of it.
_apps: dict[str, tuple[float, App]] = {}
_MAX_CACHED_APPS = 10_000


# Redis key of the version of an app last saved (beside the cache's keys, under their prefix).
_VERSION_KEY = "smsp:app-version:{}"


def _version(app: App) -> str:
    """What an app row is, as of its last save (`updated_at` moves on every save)."""
    return app.updated_at.isoformat() if app.updated_at else ""


def _still_current(app: App) -> bool:
    """Whether the row a process keeps is the one last saved anywhere: every save publishes its version
    in Redis (one GET here, no query), so every server process sees a rotated key at once. Without
    Redis there is one server process, whose own saves drop its copy. No version published (none
    saved since Redis started): the row is kept for APP_CACHE_SECONDS."""
    client = redis_client()
    if client is None:
        return True
    published = client.get(_VERSION_KEY.format(app.app_id))
    return published is None or published.decode() == _version(app)


def _publish(app_id: str, version: str) -> None:
    client = redis_client()
    if client is not None:
        client.set(_VERSION_KEY.format(app_id), version)


def _one(queryset):
    """The row of a lookup by a unique key, without the ORDER BY that `.first()` adds."""
    return next(iter(queryset.order_by()[:1]), None)


def app_by_app_id(app_id: str) -> App | None:
    """The app, as read at most APP_CACHE_SECONDS ago by this process. Treat it as read-only."""
    ttl = settings.APP_CACHE_SECONDS
    cached = _apps.get(app_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < ttl and _still_current(cached[1]):
        return cached[1]
    if not KEY.fullmatch(app_id):  # no app has such an id (and a NUL would not reach the database)
        return None
    app = _one(App.objects.filter(app_id=app_id))
    if app is not None and ttl > 0:
        if len(_apps) >= _MAX_CACHED_APPS:
            _apps.clear()
        _apps[app_id] = (now, app)
    return app


@receiver(post_save, sender=App)
def _publish_saved_app(sender, instance, **kwargs):
    _apps.pop(instance.app_id, None)
    _publish(instance.app_id, _version(instance))


@receiver(post_delete, sender=App)
def _forget_deleted_app(sender, instance, **kwargs):
    _apps.pop(instance.app_id, None)
    _publish(instance.app_id, "deleted")


def user_by_session_token(*, app: App, token: str | None) -> EndUser | None:
    """The end user a session token belongs to, or None for a missing, ended or foreign token."""
    if not token or not isinstance(token, str):
        return None
    session = _one(Session.objects.select_related("user").filter(token_hash=digest(token), user__app=app))
    return session.user if session else None


def user_by_object_id(*, app: App, object_id: str) -> EndUser | None:
    if not OBJECT_ID.fullmatch(object_id):  # no user has such an id (and a NUL would not reach the database)
        return None
    return _one(EndUser.objects.filter(object_id=object_id, app=app))


def user_by_username(*, app: App, username: str) -> EndUser | None:
    return _one(EndUser.objects.filter(username=username, app=app))


def user_by_email(*, app: App, email: str) -> EndUser | None:
    return _one(EndUser.objects.filter(email=email, app=app).exclude(email=""))


def user_by_phone(*, app: App, phone: str) -> EndUser | None:
    """`phone` in E.164."""
    return _one(EndUser.objects.filter(mobile_phone_number=phone, app=app).exclude(mobile_phone_number=""))


@dataclass(frozen=True)
class Balances:
    """An account's money: the sums of its purses."""

    balance: Decimal
    gift_balance: Decimal
    free_sms: int

    @property
    def spendable(self) -> Decimal:
        return self.balance + self.gift_balance

    def as_json(self) -> dict:
        return {"balance": str(self.balance), "gift_balance": str(self.gift_balance), "free_sms": self.free_sms}


def balances(account_id: int) -> Balances:
    rows = list(Purse.objects.filter(account_id=account_id).values_list("balance", "gift_balance", "free_sms"))
    zero = Decimal("0")
    return Balances(sum((r[0] for r in rows), zero), sum((r[1] for r in rows), zero), sum(r[2] for r in rows))
