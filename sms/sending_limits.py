"""The per-number limits one message must pass, from its app's settings (0 in a setting: no limit).

They are counted by `smsplatform.limits` in one atomic step for all rules of a send. Rolling windows
(the last minute, any 24 hours) beside a calendar day's: notifications count per day in the app's
time zone, a day being the date in the rule's key (a new key at midnight there).
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from smsplatform.errors import Errors
from smsplatform.limits import Rule

from .models import Category, Channel

# A calendar day's rule lives in its day's key; its window only has to outlast the longest day.
CALENDAR_DAY_WINDOW_SECONDS = 2 * 86400


def app_day(app, now: datetime | None = None) -> str:
    """Today's date (or `now`'s) in the app's time zone, as YYYY-MM-DD."""
    return timezone.localtime(now or timezone.now(), ZoneInfo(app.timezone)).date().isoformat()


def sending_rules(*, app, phone: str, channel: str, category: str, signature: str,
                  now: datetime | None = None) -> list[Rule]:
    """The rules of one message of this kind to `phone` (E.164), signed with `signature`, sent at
    `now` (the calendar day's rule names its day)."""
    candidates = [
        Rule(
            f"app:{app.id}:{phone}:interval", app.limit_interval_seconds, 1,
            Errors.BAD_REQUEST, f"SMS request too fast(1 request per {app.limit_interval_seconds}s).",
        ),
        Rule(f"sig:{signature}:{phone}:1m", 60, app.limit_per_minute),
    ]
    if channel == Channel.VOICE:
        candidates += [
            Rule(f"app:{app.id}:{phone}:voice:30s", 30, app.limit_voice_per_30s),
            Rule(f"app:{app.id}:{phone}:voice:1h", 3600, app.limit_voice_per_hour),
            Rule(f"app:{app.id}:{phone}:voice:24h", 86400, app.limit_voice_per_day),
        ]
    elif category == Category.VERIFICATION:
        candidates.append(Rule(f"sig:{signature}:{phone}:verify:24h", 86400, app.limit_verification_per_24h))
    elif category == Category.NOTIFICATION:
        candidates.append(Rule(f"sig:{signature}:{phone}:notify:{app_day(app, now)}", CALENDAR_DAY_WINDOW_SECONDS,
                               app.limit_notification_per_day))
    return [rule for rule in candidates if rule.limit and rule.window_seconds]
