"""Routing as data (Jasmin's ordered tables): which carriers a message tries, in which order.

`plan()` is a pure function of the message's country calling code and channel, the route and carrier
rows (a `Snapshot`, see `sms.carriers.registry`) and recent delivery figures: the first enabled route
of the channel whose country code is the message's, else the first whose code is `*` (routes ordered
by position), gives an ordered list of carriers; disabled carriers are skipped, and so, on a voice
route, are carriers that cannot speak. A channel without any enabled route row has the implicit
default route `*`: every enabled carrier (voice: those that support it), SMS_CARRIERS' first, then
the admin's by id.

Strategy `ordered`: the route's order. Strategy `best_delivery_rate`: by delivery rate over the
recent window, delivered / (delivered + failed) with a neutral prior (the route's pooled rate drawn
towards 1/2, worth SMS_ROUTE_PRIOR_WEIGHT receipts), so an unknown carrier starts like the others; carriers within
SMS_ROUTE_RATE_TOLERANCE of the best count as equal (the route's order decides); a share
SMS_ROUTE_EXPLORATION of messages goes to another carrier first, so one that failed and recovered
wins its traffic back by itself. The rest of the list is the failover order.
"""
import random
from dataclasses import dataclass, field
from datetime import datetime

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from .carriers import CarrierConfig

ORDERED = "ordered"
BEST_DELIVERY_RATE = "best_delivery_rate"


@dataclass(frozen=True)
class CarrierInfo:
    id: int
    name: str
    kind: str
    enabled: bool
    supports_voice: bool
    updated_at: datetime
    config: CarrierConfig = field(repr=False)
    from_settings: bool = False


@dataclass(frozen=True)
class RouteInfo:
    id: int
    country_code: str
    channel: str
    strategy: str
    carrier_ids: tuple[int, ...]


@dataclass(frozen=True)
class Snapshot:
    carriers: tuple[CarrierInfo, ...]  # in the implicit default route's order
    routes: tuple[RouteInfo, ...]      # enabled routes, by position

    def carrier(self, carrier_id: int) -> CarrierInfo | None:
        for carrier in self.carriers:
            if carrier.id == carrier_id:
                return carrier
        return None

    def by_name(self, name: str) -> CarrierInfo | None:
        for carrier in self.carriers:
            if carrier.name == name:
                return carrier
        return None


def country_calling_code(e164: str) -> str:
    """"86" for +8613800138000 (country calling codes are prefix-free: the first 1-3 digits that are one)."""
    digits = e164.lstrip("+")
    for length in (1, 2, 3):
        if digits[:length].isdigit() and int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return ""


def route_for(snapshot: Snapshot, *, country_code: str, channel: str) -> RouteInfo:
    """The route a message takes (the implicit default when the channel has no route rows)."""
    routes = [r for r in snapshot.routes if r.channel == channel]
    if not routes:
        return RouteInfo(0, "*", channel, ORDERED, tuple(c.id for c in snapshot.carriers))
    for wanted in (country_code, "*"):
        for route in routes:
            if route.country_code == wanted:
                return route
    return RouteInfo(-1, country_code, channel, ORDERED, ())


def carriers_of(snapshot: Snapshot, route: RouteInfo) -> list[CarrierInfo]:
    by_id = {c.id: c for c in snapshot.carriers}
    out = []
    for carrier_id in route.carrier_ids:
        carrier = by_id.get(carrier_id)
        if carrier is None or not carrier.enabled or (route.channel == "voice" and not carrier.supports_voice):
            continue
        out.append(carrier)
    return out


def plan(snapshot: Snapshot, *, country_code: str, channel: str, rates: dict[int, tuple[int, int]] | None = None,
         exploration: float = 0.0, prior_weight: float = 20.0, tolerance: float = 0.05,
         rng: random.Random | None = None) -> list[CarrierInfo]:
    """The carriers a message of (country_code, channel) tries, in order (empty: none can take it)."""
    route = route_for(snapshot, country_code=country_code, channel=channel)
    carriers = carriers_of(snapshot, route)
    if route.strategy != BEST_DELIVERY_RATE or len(carriers) < 2:
        return carriers
    ranked = rank_by_rate(carriers, rates or {}, prior_weight=prior_weight, tolerance=tolerance)
    rng = rng or random
    if exploration and rng.random() < exploration:
        other = ranked[1 + int(rng.random() * (len(ranked) - 1))]
        ranked.remove(other)
        ranked.insert(0, other)
    return ranked


def rank_by_rate(carriers: list[CarrierInfo], rates: dict[int, tuple[int, int]], *,
                 prior_weight: float, tolerance: float = 0.05) -> list[CarrierInfo]:
    # The neutral prior: the route's pooled rate, itself drawn towards 1/2 by `prior_weight` receipts
    # (so it is never 0 or 1 on little evidence).
    delivered = sum(rates.get(c.id, (0, 0))[0] for c in carriers)
    total = sum(sum(rates.get(c.id, (0, 0))) for c in carriers)
    prior = (delivered + 0.5 * prior_weight) / (total + prior_weight) if total + prior_weight else 0.5

    def score(carrier):
        d, f = rates.get(carrier.id, (0, 0))
        return (d + prior * prior_weight) / (d + f + prior_weight)

    scores = {c.id: score(c) for c in carriers}
    best = max(scores.values())
    # Carriers within `tolerance` of the best are as good as it: the route's order decides between them
    # (so a carrier that recovered takes its place back once its figures catch up).
    equal = [c for c in carriers if scores[c.id] >= best - tolerance]
    rest = sorted((c for c in carriers if scores[c.id] < best - tolerance), key=lambda c: scores[c.id], reverse=True)
    return equal + rest


def delivery_rate(delivered: int, failed: int) -> float | None:
    return delivered / (delivered + failed) if delivered + failed else None
