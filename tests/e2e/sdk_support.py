"""What the scripts run under .venv-sdk (the official Python SDK, stdlib beside it) share."""
import json
import os
import re
import time

import leancloud


def error_of(call) -> dict | None:
    """The LeanCloud error `call` raised, as {"code", "error"}, or None when it succeeded."""
    try:
        call()
    except leancloud.LeanCloudError as error:
        return {"code": error.code, "error": error.error}
    return None


class OutboxCodes:
    """Reads codes from the console carrier's JSON-lines outbox, as a person reads their phone."""

    def __init__(self, path: str):
        self.path = path
        self.seen: dict[str, int] = {}

    def next_code(self, phone: str, timeout: float = 30.0) -> str:
        """The code of the next message to `phone` not read yet."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            texts = []
            if os.path.exists(self.path):
                with open(self.path, encoding="utf-8") as lines:
                    texts = [m["text"] for m in map(json.loads, lines) if m["to"] == phone]
            if len(texts) > self.seen.get(phone, 0):
                self.seen[phone] = len(texts)
                return re.search(r"(\d{6})", texts[-1].split("】", 1)[-1]).group(1)
            time.sleep(0.1)
        raise SystemExit(f"no new code for {phone} arrived in the outbox")
