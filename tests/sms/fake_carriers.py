"""Fake carriers for the delivery tests: real adapters behind the real interface (no patching), whose
behaviour is set by their params. Registered as kinds `fake` and `fakevoice` by tests/sms/conftest.py.

Params: `outcome` accepted | delivered | failed | unknown | raise (default accepted); `receipts`
delivered | failed | none (for accepted messages; default none); `receipts_first` true: hand the
receipts to the sink before answering the submit (a receipt that beats its submit answer); `parts`
(carrier ids per message, default 1); `token` (callbacks must carry it).
"""
import json
import threading

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse

from sms.carriers import Carrier, CarrierConfigError, CarrierReceipt, Outcome, SubmitResult

SENT: dict[str, list] = {}  # carrier name -> messages it took (what "the phone" got)
_lock = threading.Lock()
_serial = iter(range(1, 10**9))


def sent_to(carrier: str) -> list:
    return SENT.get(carrier, [])


class FakeCarrier(Carrier):
    kind = "fake"
    PARAMS = {"outcome": "accepted", "receipts": "none", "receipts_first": "false", "parts": "1", "token": ""}

    @classmethod
    def check_config(cls, config):
        super().check_config(config)
        if config.param("outcome", "accepted") not in ("accepted", "delivered", "failed", "unknown", "raise"):
            raise CarrierConfigError("outcome", "accepted, delivered, failed, unknown or raise")

    def submit(self, messages, *, journal):
        outcome = self.config.param("outcome", "accepted")
        if outcome == "raise":
            raise ConnectionRefusedError("connection refused")
        if outcome == "failed":
            return [SubmitResult(m.id, Outcome.FAILED, error_code="0x00000045", error="ESME_RSUBMITFAIL") for m in messages]
        journal([m.id for m in messages])
        with _lock:
            SENT.setdefault(self.name, []).extend(messages)
        if outcome == "unknown":
            return [SubmitResult(m.id, Outcome.UNKNOWN, error="no submit_sm_resp within 10 s") for m in messages]
        parts = int(self.config.param("parts", "1"))
        results, receipts = [], []
        for m in messages:
            ids = tuple(f"{self.name}-{next(_serial)}" for _ in range(parts))
            results.append(SubmitResult(m.id, Outcome(outcome), ids, wire_parts=parts))
            kind = self.config.param("receipts", "none")
            if outcome == "accepted" and kind != "none":
                receipts += [CarrierReceipt(i, kind == "delivered", "" if kind == "delivered" else "UNDELIV",
                                            raw=f"id:{i} stat:{'DELIVRD' if kind == 'delivered' else 'UNDELIV'}")
                             for i in ids]
        if receipts:
            if self.config.param("receipts_first", "false") == "true":
                self.receipts(receipts)
            else:
                self.pending_receipts = receipts
        return results

    def release_receipts(self):
        receipts, self.pending_receipts = getattr(self, "pending_receipts", []), []
        self.receipts(receipts)

    def handle_callback(self, request):
        token = self.config.param("token", "")
        if token and request.headers.get("X-Token") != token:
            raise PermissionDenied("bad token")
        body = json.loads(request.body or b"{}")
        if "boom" in body:
            raise ValueError("a malformed report")
        receipts = [CarrierReceipt(item["id"], item["delivered"], item.get("code", ""), raw=json.dumps(item))
                    for item in body.get("reports", [])]
        return JsonResponse({"ok": True}), receipts

    def live_state(self):
        return {"fake": True, "sent": len(sent_to(self.name))}


class FakeVoiceCarrier(FakeCarrier):
    kind = "fakevoice"
    supports_voice = True


