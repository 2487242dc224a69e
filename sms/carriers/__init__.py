"""Carrier adapters, by name: SMS_CARRIERS lists the ones messages go to, in order of preference."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Transitional: the delivery layer of this branch still speaks the old names (see base.py).
from .base import LegacyCarrier as Carrier, LegacyOutboundMessage as OutboundMessage, LegacySubmitResult as SubmitResult
from .console import ConsoleCarrier

ADAPTERS: dict[str, type[Carrier]] = {
    ConsoleCarrier.name: ConsoleCarrier,
}

__all__ = ["Carrier", "OutboundMessage", "SubmitResult", "carrier_named", "preferred_carrier"]


def carrier_named(name: str) -> Carrier:
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ImproperlyConfigured(f"Unknown SMS carrier {name!r}; known: {', '.join(sorted(ADAPTERS))}.")


def preferred_carrier() -> Carrier:
    return carrier_named(settings.SMS_CARRIERS[0])
