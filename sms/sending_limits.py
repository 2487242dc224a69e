"""The per-number limits one message must pass, from its app's settings (0 in a setting: no limit).

They are counted by `smsplatform.limits` in one atomic step for all rules of a send.
"""
from smsplatform.errors import Errors
from smsplatform.limits import Rule

from .models import Category, Channel


def sending_rules(*, app, phone: str, channel: str, category: str, signature: str) -> list[Rule]:
    """The rules of one message of this kind to `phone` (E.164), signed with `signature`."""
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
    return [rule for rule in candidates if rule.limit and rule.window_seconds]
