"""The console carrier: the embedded default. It stands for a carrier that delivers at once: it prints
each message on standard output (the phone's screen: this is the carrier's output, not a log) and,
with an outbox file (param `outbox`, default SMS_CONSOLE_OUTBOX), appends it there as one JSON line.
It supports voice: a voice code is printed as the digits it would speak.

Params: `outbox` (a file path; default the SMS_CONSOLE_OUTBOX setting), `echo` (`true`/`false`,
default `true`: print each message).
"""
import fcntl
import json
import os
import sys
import uuid
from datetime import datetime, timezone

from .base import Carrier, CarrierConfigError, OutboundMessage, Outcome, SubmitResult

BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ConsoleCarrier(Carrier):
    kind = "console"
    supports_voice = True
    PARAMS = {"outbox": None, "echo": "true"}

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        if str(config.param("echo", "true")).lower() not in BOOLEANS:
            raise CarrierConfigError("echo", "must be true or false")

    def __init__(self, config, receipts):
        super().__init__(config, receipts)
        self.echo = BOOLEANS[str(config.param("echo", "true")).lower()]

    def outbox_path(self) -> str:
        from django.conf import settings

        outbox = self.config.param("outbox")
        return settings.SMS_CONSOLE_OUTBOX if outbox is None else outbox

    def submit(self, messages: list[OutboundMessage], *, journal) -> list[SubmitResult]:
        sent_at = datetime.now(timezone.utc).isoformat()
        results, lines, screen = [], [], []
        for message in messages:
            carrier_message_id = uuid.uuid4().hex
            screen.append(f"{message.channel.upper()} to {message.to}: {message.text}\n")
            lines.append(json.dumps({
                "to": message.to,
                "text": message.text,
                "channel": message.channel,
                "message_id": message.id,
                "carrier_message_id": carrier_message_id,
                "app_id": message.app_id,
                "sent_at": sent_at,
            }, ensure_ascii=False))
            results.append(SubmitResult(message.id, Outcome.DELIVERED, (carrier_message_id,)))
        journal([m.id for m in messages])
        path = self.outbox_path()
        if path:
            self._append(path, lines)
        if self.echo:
            sys.stdout.write("".join(screen))
            sys.stdout.flush()
        return results

    @staticmethod
    def _append(path: str, lines: list[str]) -> None:
        # Several processes may append at once: an exclusive lock keeps each line whole.
        with open(path, "a", encoding="utf-8") as outbox:
            fcntl.flock(outbox, fcntl.LOCK_EX)
            try:
                outbox.write("".join(line + "\n" for line in lines))
                outbox.flush()
                os.fsync(outbox.fileno())
            finally:
                fcntl.flock(outbox, fcntl.LOCK_UN)
