"""Rate limits, the one place for both kinds.

Per-client-IP flow control (django-ratelimit) guards API calls: `enforce_ip_budget(request, budget)`
with a budget from `IpBudget`, whose rates are settings, counted per `smsplatform.client_ip`.

Limits on a subject (a phone number, an end user's failed logins) are `Rule`s counted by a limiter:
every rule of one action checked and counted in one atomic step. The rules themselves live with the
feature that owns them (`sms.sending_limits`, `accounts.services.sessions`).

A rule is a sliding window: at most `limit` hits in any `window_seconds`. A calendar-day rule is
the same thing with the day in its key (a new key each day) and a window longer than a day.
An anchored rule measures its window back from its latest hit instead of from now: once full, it
stays full until `window_seconds` after that hit (a lockout; see `login_failure_rules`).
With Redis, one Lua script checks all of a send's rules and counts them only if all pass; without
it (one process), a lock does the same in local memory.
"""
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from contextlib import contextmanager
from enum import Enum

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from .client_ip import ratelimit_key
from .errors import ErrorKind, Errors, LeanCloudError
from .redis_client import redis_client


# Redis keys of the limiter live beside the cache's, under this prefix.
KEY_PREFIX = "smsp:lim:"


@dataclass(frozen=True)
class Rule:
    key: str
    window_seconds: int
    limit: int
    error_kind: ErrorKind = Errors.SMS_TOO_FREQUENT
    error_text: str | None = None
    anchored: bool = False

    def error(self) -> LeanCloudError:
        return LeanCloudError(self.error_kind, self.error_text)


_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """`<count>/<s|m|h|d>` (django-ratelimit's form, e.g. `20/h`, `5/10m`) as (count, seconds); "" is None."""
    if not rate:
        return None
    match = _RATE.fullmatch(rate.strip())
    if match is None:
        raise ValueError(f"{rate!r} is not a rate such as 20/h")
    count, multiple, period = match.groups()
    return int(count), _PERIOD_SECONDS[period] * int(multiple or 1)


def rate_rules(key: str, rate: str, error_kind: ErrorKind, error_text: str | None = None) -> list[Rule]:
    """The rule of a rate setting (`parse_rate`): at most count hits in any window; none for ""."""
    parsed = parse_rate(rate)
    if parsed is None:
        return []
    count, seconds = parsed
    return [Rule(key, seconds, count, error_kind, error_text)]


@dataclass(frozen=True)
class Reservation:
    """The hits one send counted, so that a send that fails later can give them back."""

    keys: tuple[str, ...]
    member: str = field(default_factory=lambda: uuid.uuid4().hex)


_ACQUIRE = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[3 * i])
  local since = now - window
  if ARGV[3 * i + 2] == '1' then
    local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
    if latest and tonumber(latest) > since then since = tonumber(latest) - window end
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', since)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 * i + 1]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[3 * i]))
end
return 0
"""


class Limiter:
    """What both limiters share: counting an action that may still fail after its rules passed."""

    def acquire(self, rules: list[Rule], now: float | None = None) -> Reservation:
        raise NotImplementedError

    def release(self, reservation: Reservation) -> None:
        raise NotImplementedError

    @contextmanager
    def holding(self, rules: list[Rule], *, keep_on: tuple[type[BaseException], ...] = ()):
        """Count one hit against every rule (or raise the first broken rule's error), run the block,
        and give the hits back if the block raises, unless it raises one of `keep_on`."""
        reservation = self.acquire(rules)
        try:
            yield reservation
        except keep_on:
            raise
        except BaseException:
            self.release(reservation)
            raise


class RedisLimiter(Limiter):
    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix
        self.script = self.client.register_script(_ACQUIRE)

    def acquire(self, rules: list[Rule], now: float | None = None) -> Reservation:
        """Count one hit against every rule, or raise the first rule's error and count nothing."""
        reservation = Reservation(keys=tuple(self.prefix + rule.key for rule in rules))
        if not rules:
            return reservation
        now_ms = int((time.time() if now is None else now) * 1000)
        args = [now_ms, reservation.member]
        for rule in rules:
            args += [rule.window_seconds * 1000, rule.limit, int(rule.anchored)]
        broken = self.script(keys=list(reservation.keys), args=args)
        if broken:
            raise rules[broken - 1].error()
        return reservation

    def release(self, reservation: Reservation) -> None:
        if reservation.keys:
            pipe = self.client.pipeline(transaction=False)
            for key in reservation.keys:
                pipe.zrem(key, reservation.member)
            pipe.execute()

    def forget(self, rules: list[Rule]) -> None:
        """Drop every hit counted against `rules`."""
        if rules:
            self.client.delete(*(self.prefix + rule.key for rule in rules))

    def clear(self) -> None:
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.client.delete(*keys)


class LocalLimiter(Limiter):
    """The same rules in this process's memory, for the single-process embedded default."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hits: dict[str, list[tuple[float, str]]] = {}

    def acquire(self, rules: list[Rule], now: float | None = None) -> Reservation:
        reservation = Reservation(keys=tuple(rule.key for rule in rules))
        now = time.time() if now is None else now
        with self.lock:
            for rule in rules:
                hits = self.hits.get(rule.key, [])
                since = now - rule.window_seconds
                if rule.anchored and hits:
                    latest = max(hit[0] for hit in hits)
                    if latest > since:
                        since = latest - rule.window_seconds
                live = [hit for hit in hits if hit[0] > since]
                self.hits[rule.key] = live
                if len(live) >= rule.limit:
                    raise rule.error()
            for rule in rules:
                self.hits[rule.key].append((now, reservation.member))
        return reservation

    def release(self, reservation: Reservation) -> None:
        with self.lock:
            for key in reservation.keys:
                self.hits[key] = [hit for hit in self.hits.get(key, ()) if hit[1] != reservation.member]

    def forget(self, rules: list[Rule]) -> None:
        with self.lock:
            for rule in rules:
                self.hits.pop(rule.key, None)

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()


@lru_cache(maxsize=1)
def get_limiter() -> RedisLimiter | LocalLimiter:
    client = redis_client()
    if client is not None:
        return RedisLimiter(client, KEY_PREFIX)
    return LocalLimiter()


# --- Per-client-IP flow control ------------------------------------------------------------------

class IpBudget(Enum):
    """A budget of calls per client IP: (its django-ratelimit group, the setting holding its rate)."""

    SMS = ("sms", "RATELIMIT_SMS_PER_IP")
    # Codes redeemed without their number could be any number's: a budget of their own, far below the SMS one.
    CODE_WITHOUT_NUMBER = ("sms-code-without-number", "RATELIMIT_CODE_WITHOUT_NUMBER_PER_IP")
    # Codes checked with their number (verifySmsCode, ...): a wrong one counts against its code too.
    CODE = ("sms-code", "RATELIMIT_CODE_PER_IP")
    # Password checks (/login, updatePassword): they tell registered names from unknown ones, and cost a hash.
    LOGIN = ("login", "RATELIMIT_LOGIN_PER_IP")
    # Sign-ups (POST /users, /classes/_User): each costs a password hash.
    SIGNUP = ("signup", "RATELIMIT_SIGNUP_PER_IP")
    # Changes of a user (PUT /users/<id>).
    USER_UPDATE = ("user-update", "RATELIMIT_USER_UPDATE_PER_IP")
    # Attempts to log in to the admin, whatever the username (the lockout counts failures per username).
    ADMIN_LOGIN = ("admin-login", "RATELIMIT_ADMIN_LOGIN_PER_IP")
    CAPTCHA = ("captcha", "RATELIMIT_CAPTCHA_PER_IP")
    CAPTCHA_IMAGE = ("captcha-image", "RATELIMIT_CAPTCHA_IMAGE_PER_IP")
    VERIFY_CAPTCHA = ("captcha-verify", "RATELIMIT_VERIFY_CAPTCHA_PER_IP")

    def __init__(self, group: str, setting: str):
        self.group = group
        self.setting = setting

    @property
    def rate(self) -> str:
        """`<count>/<s|m|h|d>`, or "" for no limit."""
        return getattr(settings, self.setting)


def over_ip_budget(request, budget: IpBudget) -> bool:
    """Count the call against the client IP's `budget`: whether it is past it."""
    rate = budget.rate
    if not rate or not settings.RATELIMIT_ENABLE:
        return False
    return is_ratelimited(request, group=budget.group, key=ratelimit_key, rate=rate, increment=True)


def enforce_ip_budget(request, budget: IpBudget) -> None:
    """Count the call against the client IP's `budget`; past it, 429."""
    if over_ip_budget(request, budget):
        raise LeanCloudError(Errors.TOO_MANY_REQUESTS)
