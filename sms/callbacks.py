"""Delivery-report callbacks of HTTP carriers: `/carriers/<name>/receipts` (outside `/1.1/`, no app
keys, no CSRF token: the carrier's adapter verifies its own signature in `handle_callback`).

Unknown or disabled carrier: 404. A forged report (PermissionDenied): 403, nothing changes. Any
other failure: a plain 400 or 500 with no traceback, logged. Receipts go through the same service as
the SMPP ones (`send_records.write_receipts`), in this request. `callback_url(name)` is the absolute
URL a carrier must be given: SMS_CALLBACK_BASE_URL + that path.
"""
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from . import send_records
from .carriers.registry import get_registry

logger = logging.getLogger(__name__)


def callback_path(name: str) -> str:
    return f"/carriers/{name}/receipts"


def callback_url(name: str) -> str:
    """The URL a carrier calls back (empty when SMS_CALLBACK_BASE_URL is not set)."""
    return f"{settings.SMS_CALLBACK_BASE_URL}{callback_path(name)}" if settings.SMS_CALLBACK_BASE_URL else ""


@csrf_exempt
def carrier_receipts(request, name: str):
    registry = get_registry()
    carrier = registry.snapshot().by_name(name)
    if carrier is None or not carrier.enabled:
        return HttpResponseNotFound("unknown carrier", content_type="text/plain")
    try:
        response, receipts = registry.adapter(carrier).handle_callback(request)
    except PermissionDenied:
        logger.warning("Refused a forged delivery report for carrier %s", name)
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    except Exception:  # noqa: BLE001 - a malformed report: never a traceback to the caller
        logger.exception("Could not read a delivery report for carrier %s", name)
        return HttpResponse("bad report", status=400, content_type="text/plain")
    if receipts:
        try:
            send_records.write_receipts(carrier.id, list(receipts))
        except Exception:  # noqa: BLE001 - the carrier retries a failed callback
            logger.exception("Could not write %d receipts of carrier %s", len(receipts), name)
            return HttpResponse("try again", status=503, content_type="text/plain")
    return response
