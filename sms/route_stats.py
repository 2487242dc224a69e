"""Rolling delivery figures per carrier, for routes that prefer the best delivery rate.

Counters per carrier per bucket (SMS_ROUTE_BUCKET_SECONDS, a minute by default) of messages
delivered and failed, from receipts (and from what a carrier settled at submit: delivered at once, or
refused). With Redis they are shared by every process (HINCRBY in one pipeline per written batch; each
bucket expires after the window); without Redis, in this process's memory (the embedded default is
one process). Readers see them at most once a second per process.
"""
import threading
import time

from django.conf import settings

from smsplatform.redis_client import redis_client

KEY = "smsp-route-stats:{carrier}:{bucket}"

_local: dict[tuple[int, int], list[int]] = {}
_lock = threading.Lock()
_cache: dict = {"at": 0.0, "key": None, "value": {}}


def _bucket(now: float | None = None) -> int:
    return int((now or time.time()) // settings.SMS_ROUTE_BUCKET_SECONDS)


def _buckets() -> range:
    width = settings.SMS_ROUTE_BUCKET_SECONDS
    last = _bucket()
    count = max(1, int(-(-settings.SMS_ROUTE_WINDOW_SECONDS // width)))
    return range(last - count + 1, last + 1)


def record(counts: dict[int, list[int]]) -> None:
    """Add {carrier_id: [delivered, failed]} to the current bucket. Never raises: a figure lost is
    better than a receipt not written."""
    bucket = _bucket()
    client = redis_client()
    try:
        if client is None:
            with _lock:
                for carrier_id, (delivered, failed) in counts.items():
                    cell = _local.setdefault((carrier_id, bucket), [0, 0])
                    cell[0] += delivered
                    cell[1] += failed
                oldest = _buckets()[0]
                for key in [k for k in _local if k[1] < oldest]:
                    del _local[key]
            return
        ttl = int(settings.SMS_ROUTE_WINDOW_SECONDS + 2 * settings.SMS_ROUTE_BUCKET_SECONDS)
        pipe = client.pipeline(transaction=False)
        for carrier_id, (delivered, failed) in counts.items():
            key = KEY.format(carrier=carrier_id, bucket=bucket)
            if delivered:
                pipe.hincrby(key, "d", delivered)
            if failed:
                pipe.hincrby(key, "f", failed)
            pipe.expire(key, ttl)
        pipe.execute()
    except Exception:  # noqa: BLE001 - figures are advisory
        import logging

        logging.getLogger(__name__).warning("Could not count delivery figures", exc_info=True)


def rates(carrier_ids: list[int], *, max_age: float = 1.0) -> dict[int, tuple[int, int]]:
    """{carrier_id: (delivered, failed)} over the window, read at most once every `max_age` seconds."""
    key = (tuple(sorted(carrier_ids)), _bucket())
    now = time.monotonic()
    if _cache["key"] == key and now - _cache["at"] < max_age:
        return _cache["value"]
    value = _read(carrier_ids)
    _cache.update(at=now, key=key, value=value)
    return value


def _read(carrier_ids: list[int]) -> dict[int, tuple[int, int]]:
    buckets = _buckets()
    client = redis_client()
    if client is None:
        with _lock:
            return {c: (sum(_local.get((c, b), (0, 0))[0] for b in buckets),
                        sum(_local.get((c, b), (0, 0))[1] for b in buckets)) for c in carrier_ids}
    try:
        pipe = client.pipeline(transaction=False)
        for carrier_id in carrier_ids:
            for bucket in buckets:
                pipe.hmget(KEY.format(carrier=carrier_id, bucket=bucket), "d", "f")
        answers = iter(pipe.execute())
    except Exception:  # noqa: BLE001
        return {c: (0, 0) for c in carrier_ids}
    out = {}
    for carrier_id in carrier_ids:
        delivered = failed = 0
        for _ in buckets:
            d, f = next(answers)
            delivered += int(d or 0)
            failed += int(f or 0)
        out[carrier_id] = (delivered, failed)
    return out


def reset() -> None:
    """Forget the local counters and the cache (tests)."""
    with _lock:
        _local.clear()
    _cache.update(at=0.0, key=None, value={})
