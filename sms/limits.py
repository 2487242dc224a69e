"""Per-number sending limits: every rule of one send checked and counted in one atomic step.

A rule is a sliding window: at most `limit` hits in any `window_seconds`. A calendar-day rule is
the same thing with the day in its key (a new key each day) and a window longer than a day.
An anchored rule measures its window back from its latest hit instead of from now: once full, it
stays full until `window_seconds` after that hit (a lockout; see `login_failure_rules`).
With Redis, one Lua script checks all of a send's rules and counts them only if all pass; without
it (one process), a lock does the same in local memory.
"""
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings

from smsplatform.errors import ErrorCode, LeanCloudError
from smsplatform.redis_client import redis_client


@dataclass(frozen=True)
class Rule:
    key: str
    window_seconds: int
    limit: int
    code: int = ErrorCode.SMS_TOO_FREQUENT
    message: str | None = None
    anchored: bool = False

    def error(self) -> LeanCloudError:
        return LeanCloudError(self.code, self.message)


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


class RedisLimiter:
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


class LocalLimiter:
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
        return RedisLimiter(client, settings.SMS_LIMIT_KEY_PREFIX)
    return LocalLimiter()


def sending_rules(*, app, phone: str, channel: str, category: str, signature: str) -> list[Rule]:
    """The app's per-number limits that one message of this kind must pass (0 in a setting: none)."""
    candidates = [
        Rule(
            f"app:{app.id}:{phone}:interval", app.limit_interval_seconds, 1,
            ErrorCode.INTERNAL, f"SMS request too fast(1 request per {app.limit_interval_seconds}s).",
        ),
        Rule(f"sig:{signature}:{phone}:1m", 60, app.limit_per_minute),
    ]
    if channel == "voice":
        candidates += [
            Rule(f"app:{app.id}:{phone}:voice:30s", 30, app.limit_voice_per_30s),
            Rule(f"app:{app.id}:{phone}:voice:1h", 3600, app.limit_voice_per_hour),
            Rule(f"app:{app.id}:{phone}:voice:24h", 86400, app.limit_voice_per_day),
        ]
    elif category == "verification":
        candidates.append(Rule(f"sig:{signature}:{phone}:verify:24h", 86400, app.limit_verification_per_24h))
    return [rule for rule in candidates if rule.limit and rule.window_seconds]


LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
LOGIN_FAILURES_ALLOWED = 6


def login_failure_rules(*, app, user_id: int) -> list[Rule]:
    """Failed logins of one end user: more than 6 in 15 minutes lock the user out (219) until 15
    minutes after the last failure.

    Every attempt is counted before the credentials are checked and given back when they are right,
    so that simultaneous guesses cannot slip past the count.
    """
    return [Rule(
        f"app:{app.id}:user:{user_id}:login-failures", LOGIN_FAILURE_WINDOW_SECONDS,
        LOGIN_FAILURES_ALLOWED + 1, ErrorCode.LOGIN_LOCKED, anchored=True,
    )]
