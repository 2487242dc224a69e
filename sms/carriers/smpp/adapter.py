"""The SMPP carrier: `SmppBind` (the protocol layer, `bind.py`) behind the carrier interface.

    smpp://SYSTEM_ID:PASSWORD@host:2775?source=SENDER&window=10&binds=1&name=smpp-main

One adapter per carrier per process (the registry's), holding `binds` long-lived transceiver binds
(default 1), made when the adapter is first used and reading receipts all along; a batch is split
over the binds and submitted on all of them at once. `journal(ids)` is called once per chunk right
before its PDUs may be written. Receipts (final ones: delivered, or undeliverable / expired /
rejected / deleted / unknown) go to the registry's sink, one CarrierReceipt per part.

Params (all optional but `host`): see PARAMS below and the README's table.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from ..base import Carrier, CarrierConfigError, CarrierReceipt, Outcome, SubmitResult
from .bind import SmppBind, SmppMessage

logger = logging.getLogger(__name__)

# name -> (default, parser, low, high)
_INT, _FLOAT = int, float
PARAM_SPECS = {
    "host": ("", str, None, None),
    "port": ("2775", _INT, 1, 65535),
    "source": ("", str, None, None),            # source_addr: a sender name, or digits (+digits: international)
    "source_ton": ("", _INT, 0, 6),             # guessed from `source` when empty
    "source_npi": ("", _INT, 0, 18),
    "system_type": ("", str, None, None),
    "service_type": ("", str, None, None),
    "window": ("10", _INT, 1, 1000),            # submit_sm in flight per bind
    "binds": ("1", _INT, 1, 64),                # binds this carrier opens per process holding it
    "enquire_link": ("30", _FLOAT, 1, 3600),    # idle seconds before an enquire_link
    "connect_timeout": ("5", _FLOAT, 0.1, 120),
    "response_timeout": ("10", _FLOAT, 0.1, 300),
    "unreachable_after": ("10", _FLOAT, 0.1, 3600),  # a submit waits this long for a bind, then fails
    "reconnect_backoff": ("0.5", _FLOAT, 0.01, 3600),  # first wait after a failure, doubling to the max
    "reconnect_backoff_max": ("30", _FLOAT, 0.01, 3600),
    "throttle_retries": ("20", _INT, 0, 10000),
    # Submits go in chunks of `window` messages, each journaled right before it is handed to the bind,
    # `pipeline` chunks at once per bind: a process killed mid-batch leaves at most
    # pipeline x window messages ambiguous (call failed, never re-sent); the rest go after the restart.
    "pipeline": ("2", _INT, 1, 16),
    "registered_delivery": ("1", _INT, 0, 3),   # 1: a receipt for success and failure
}


def _value(config, name):
    default, parse, low, high = PARAM_SPECS[name]
    raw = config.param(name, default)
    if raw in ("", None):
        raw = default
    if parse is str or raw == "":
        return raw if parse is str else None
    try:
        value = parse(raw)
    except (TypeError, ValueError):
        raise CarrierConfigError(name, f"{raw!r} is not a{'n integer' if parse is int else ' number'}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise CarrierConfigError(name, f"{value} is out of range {low}-{high}")
    return value


class SmppCarrier(Carrier):
    kind = "smpp"
    supports_voice = False
    PARAMS = {name: spec[0] for name, spec in PARAM_SPECS.items()}

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        if not config.param("host"):
            raise CarrierConfigError("host", "the SMSC's host is required (smpp://SYSTEM_ID:PASSWORD@host:2775)")
        if not config.username:
            raise CarrierConfigError("username", "the system_id is required (smpp://SYSTEM_ID:PASSWORD@host:2775)")
        for name in PARAM_SPECS:
            _value(config, name)

    def __init__(self, config, receipts):
        super().__init__(config, receipts)
        v = {name: _value(config, name) for name in PARAM_SPECS}
        self.chunk = v["window"]
        self.pipeline = v["pipeline"]
        self._binds = [
            SmppBind(
                v["host"], v["port"], config.username, config.secret,
                system_type=v["system_type"], service_type=v["service_type"], source_addr=v["source"],
                source_addr_ton=v["source_ton"], source_addr_npi=v["source_npi"], window=v["window"],
                enquire_link_interval=v["enquire_link"], connect_timeout=v["connect_timeout"],
                response_timeout=v["response_timeout"], unreachable_after=v["unreachable_after"],
                reconnect_backoff=v["reconnect_backoff"], reconnect_backoff_max=v["reconnect_backoff_max"], max_throttle_retries=v["throttle_retries"],
                registered_delivery=v["registered_delivery"], on_receipts=self._on_receipts,
                receipts_inline=True,  # our sink only appends to the receipt writer's buffer
            ).start()
            for _ in range(v["binds"])
        ]

    def _on_receipts(self, receipts) -> None:
        out = []
        for r in receipts:
            if not r.final:
                continue  # enroute: an intermediate notification
            delivered = r.state == "delivered"
            code = "" if delivered else (r.stat or r.state.upper()) + (f":{r.error_code}" if r.error_code else "")
            out.append(CarrierReceipt(r.message_id, delivered, code[:64], raw=r.text,
                                      done_at=datetime.fromtimestamp(r.received_at, timezone.utc)))
        if out:
            self.receipts(out)

    def submit(self, messages, *, journal):
        if not messages:
            return []
        chunks = [messages[i::len(self._binds)] for i in range(len(self._binds))]
        chunks = [c for c in chunks if c]
        results: list[SubmitResult] = []
        if len(chunks) == 1:
            return self._submit_on(self._binds[0], chunks[0], journal)
        lock = threading.Lock()
        errors = []

        def run(bind, chunk):
            try:
                got = self._submit_on(bind, chunk, journal)
            except BaseException as exc:  # noqa: BLE001 - re-raised below (e.g. a lost journal)
                errors.append(exc)
                return
            with lock:
                results.extend(got)

        threads = [threading.Thread(target=run, args=(bind, chunk), daemon=True)
                   for bind, chunk in zip(self._binds, chunks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def _submit_on(self, bind: SmppBind, messages, journal) -> list[SubmitResult]:
        chunks = [messages[i:i + self.chunk] for i in range(0, len(messages), self.chunk)]
        if self.pipeline == 1 or len(chunks) == 1:
            return [r for chunk in chunks for r in self._submit_chunk(bind, chunk, journal)]
        results: list[SubmitResult] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        todo = iter(chunks)

        def work():
            while not errors:
                with lock:
                    chunk = next(todo, None)
                if chunk is None:
                    return
                try:
                    got = self._submit_chunk(bind, chunk, journal)
                except BaseException as exc:  # noqa: BLE001 - e.g. the journal refused: stop handing out
                    errors.append(exc)
                    return
                with lock:
                    results.extend(got)

        threads = [threading.Thread(target=work, daemon=True, name=f"smpp-submit-{self.name}")
                   for _ in range(min(self.pipeline, len(chunks)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    @staticmethod
    def _submit_chunk(bind: SmppBind, messages, journal) -> list[SubmitResult]:
        journal([m.id for m in messages])
        answers = bind.submit([SmppMessage(m.id, m.to, m.text) for m in messages])
        results = []
        for answer in answers:
            status = answer.command_status
            error = answer.error
            if answer.status_name and answer.status_name not in error:
                error = f"{answer.status_name}: {error}" if error else answer.status_name
            results.append(SubmitResult(
                answer.reference, Outcome(answer.outcome.value), tuple(answer.message_ids),
                wire_parts=answer.parts or len(answer.message_ids) or 1,
                error_code=f"0x{status:08X}" if status is not None else "", error=error[:255],
            ))
        return results

    def live_state(self) -> dict:
        states = [bind.stats() for bind in self._binds]
        if len(states) == 1:
            return states[0]
        return {"binds": states, "bound": sum(s["bound"] for s in states), "in_flight": sum(s["in_flight"] for s in states)}

    def close(self) -> None:
        for bind in self._binds:
            bind.close()
