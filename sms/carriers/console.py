"""The console carrier: prints each message and, when SMS_CONSOLE_OUTBOX is set, appends it to
that file as one JSON line. It stands for a carrier that delivers at once."""
import fcntl
import json
import logging
import os
import uuid

from django.conf import settings
from django.utils import timezone

from ..models import MessageStatus
from .base import LegacyCarrier as Carrier, LegacyOutboundMessage as OutboundMessage, LegacySubmitResult as SubmitResult

logger = logging.getLogger("sms.console")


class ConsoleCarrier(Carrier):
    name = "console"

    def submit(self, messages: list[OutboundMessage]) -> list[SubmitResult]:
        sent_at = timezone.now().isoformat()
        results, lines = [], []
        for message in messages:
            carrier_message_id = uuid.uuid4().hex
            logger.info("%s to %s: %s", message.channel.upper(), message.to, message.text)
            lines.append(json.dumps({
                "to": message.to,
                "text": message.text,
                "channel": message.channel,
                "message_id": message.id,
                "carrier_message_id": carrier_message_id,
                "app_id": message.app_id,
                "sent_at": sent_at,
            }, ensure_ascii=False))
            results.append(SubmitResult(message.id, MessageStatus.DELIVERED, carrier_message_id))
        if settings.SMS_CONSOLE_OUTBOX:
            self._append(settings.SMS_CONSOLE_OUTBOX, lines)
        return results

    @staticmethod
    def _append(path: str, lines: list[str]) -> None:
        # Several workers may append at once: an exclusive lock keeps each line whole.
        with open(path, "a", encoding="utf-8") as outbox:
            fcntl.flock(outbox, fcntl.LOCK_EX)
            try:
                outbox.write("".join(line + "\n" for line in lines))
                outbox.flush()
                os.fsync(outbox.fileno())
            finally:
                fcntl.flock(outbox, fcntl.LOCK_UN)
