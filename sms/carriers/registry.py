"""The process's carriers: their rows (and routes) as a `Snapshot`, and one adapter per carrier.

Adapters are long-lived (an SMPP bind stays bound and reads receipts): one instance per carrier per
process, made on first use, rebuilt when its row changes (compared by `updated_at`), closed when it
is dropped. Rows are read again when this process saves one (signals) and otherwise at most every
SMS_CARRIER_REFRESH_SECONDS (one cheap query tells whether anything changed).

SMS_CARRIERS' carriers are rows too (`from_settings`), written when the registry first loads in a
process (idempotent: only what differs is written; concurrent starts are safe): a row of the same name
made in the admin is taken over by the setting; a row the setting no longer names is disabled and
becomes an admin row (its records keep it).
"""
import logging
import threading
import time

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_delete, post_save

from ..routing import CarrierInfo, RouteInfo, Snapshot
from . import Carrier, CarrierConfig, adapter_class

logger = logging.getLogger(__name__)


class Registry:
    def __init__(self):
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._signature = None
        self._next_check = 0.0
        self._adapters: dict[int, tuple[object, Carrier]] = {}  # carrier id -> (updated_at, adapter)

    # --- rows ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        if self._snapshot is not None and now < self._next_check:
            return self._snapshot
        with self._lock:
            if self._snapshot is not None and time.monotonic() < self._next_check:
                return self._snapshot
            signature = self._read_signature() if self._snapshot is not None else None
            if self._snapshot is None or signature != self._signature:
                self._load()
            self._next_check = time.monotonic() + settings.SMS_CARRIER_REFRESH_SECONDS
            return self._snapshot

    def invalidate(self) -> None:
        self._next_check = 0.0
        self._signature = object()  # differs from anything read

    def _read_signature(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT max(updated_at) FROM sms_carrier), (SELECT count(*) FROM sms_carrier),"
                " (SELECT max(updated_at) FROM sms_route), (SELECT count(*) FROM sms_route),"
                " (SELECT count(*) FROM sms_routecarrier),"
                " (SELECT coalesce(sum(position * 7919 + carrier_id * 31 + route_id), 0) FROM sms_routecarrier)"
            )
            return tuple(str(v) for v in cursor.fetchone())

    def _load(self) -> None:
        from ..models import Carrier as CarrierRow, Route

        self._sync_settings()
        signature = self._read_signature()
        names = [c.name for c in settings.SMS_CARRIER_CONFIGS]
        rows = list(CarrierRow.objects.all())
        rows.sort(key=lambda r: (0, names.index(r.name)) if r.from_settings and r.name in names else (1, r.id))
        carriers = []
        for row in rows:
            try:
                config = row.config()
                voice = adapter_class(row.kind).supports_voice
            except Exception as exc:  # noqa: BLE001 - a row whose adapter is missing, or unreadable
                logger.warning("Carrier %s cannot be used: %s", row.name, exc)
                config, voice = CarrierConfig(row.name, row.kind), False
                row.enabled = False
            carriers.append(CarrierInfo(row.id, row.name, row.kind, row.enabled, voice, row.updated_at, config,
                                        row.from_settings))
        routes = []
        for route in Route.objects.filter(enabled=True).prefetch_related("route_carriers").order_by("position", "id"):
            ids = tuple(rc.carrier_id for rc in sorted(route.route_carriers.all(), key=lambda rc: (rc.position, rc.id)))
            routes.append(RouteInfo(route.id, route.country_code, route.channel, route.strategy, ids))
        self._snapshot = Snapshot(tuple(carriers), tuple(routes))
        self._signature = signature
        self._drop_stale_adapters()

    def _sync_settings(self) -> None:
        from ..models import Carrier as CarrierRow

        configs = settings.SMS_CARRIER_CONFIGS
        wanted = {c.name: c for c in configs}
        existing = {row.name: row for row in CarrierRow.objects.filter(name__in=list(wanted))}
        for name, config in wanted.items():
            row = existing.get(name)
            params = dict(config.params)
            if row is None:
                row = CarrierRow(name=name, kind=config.kind, username=config.username, params=params,
                                 from_settings=True, enabled=True)
                row.secret = config.secret
                try:
                    with transaction.atomic():
                        row.save()
                except IntegrityError:  # another process made it at the same moment
                    pass
                continue
            if (row.kind, row.username, row.params, row.from_settings, row.enabled) != (
                    config.kind, config.username, params, True, True) or row.secret != config.secret:
                row.kind, row.username, row.params, row.from_settings, row.enabled = (
                    config.kind, config.username, params, True, True)
                row.secret = config.secret
                row.save()
        CarrierRow.objects.filter(from_settings=True).exclude(name__in=list(wanted)).update(
            from_settings=False, enabled=False)

    # --- adapters ------------------------------------------------------------------------------

    def adapter(self, carrier: CarrierInfo) -> Carrier:
        """This process's adapter of `carrier` (made now if it has none for this version of the row)."""
        held = self._adapters.get(carrier.id)
        if held is not None and held[0] == carrier.updated_at:
            return held[1]
        with self._lock:
            held = self._adapters.get(carrier.id)
            if held is not None and held[0] == carrier.updated_at:
                return held[1]
            if held is not None:
                self._close_later(held[1])
            from ..receipt_writer import receipt_writer

            writer = receipt_writer()
            adapter = adapter_class(carrier.kind)(carrier.config, lambda receipts, cid=carrier.id: writer.add(cid, receipts))
            self._adapters[carrier.id] = (carrier.updated_at, adapter)
            return adapter

    def held_adapter(self, carrier_id: int) -> Carrier | None:
        """The adapter this process already has, if any (the admin's live state: never makes one)."""
        held = self._adapters.get(carrier_id)
        return held[1] if held else None

    def _drop_stale_adapters(self) -> None:
        current = {c.id: c for c in self._snapshot.carriers}
        for carrier_id, (updated_at, adapter) in list(self._adapters.items()):
            info = current.get(carrier_id)
            if info is None or not info.enabled or info.updated_at != updated_at:
                del self._adapters[carrier_id]
                self._close_later(adapter)

    @staticmethod
    def _close_later(adapter: Carrier) -> None:
        # A bind's close waits for the answers in flight: never on the caller's thread.
        threading.Thread(target=_close_quietly, args=(adapter,), name="carrier-close", daemon=True).start()

    def close(self) -> None:
        """Close every adapter (worker shutdown, tests)."""
        with self._lock:
            adapters = [adapter for _, adapter in self._adapters.values()]
            self._adapters.clear()
            self._snapshot = None
        for adapter in adapters:
            _close_quietly(adapter)


def _close_quietly(adapter: Carrier) -> None:
    try:
        adapter.close()
    except Exception:  # noqa: BLE001
        logger.exception("Closing carrier %s failed", adapter.name)


_registry = Registry()
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    return _registry


def reset_registry() -> None:
    """Close every adapter and forget every row (tests; a forked child must not use its parent's)."""
    global _registry
    with _registry_lock:
        old, _registry = _registry, Registry()
    old.close()


def _rows_changed(sender, **kwargs) -> None:
    _registry.invalidate()


def connect_signals() -> None:
    from ..models import Carrier as CarrierRow, Route, RouteCarrier

    for model in (CarrierRow, Route, RouteCarrier):
        post_save.connect(_rows_changed, sender=model, dispatch_uid=f"sms-registry-{model.__name__}-save")
        post_delete.connect(_rows_changed, sender=model, dispatch_uid=f"sms-registry-{model.__name__}-delete")


__all__ = ["Registry", "get_registry", "reset_registry"]
