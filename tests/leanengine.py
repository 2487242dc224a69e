"""A real LeanEngine app (npm leanengine 3.8.0, tests/e2e/js/engine.js) for the onVerified hook tests."""
import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from .live import free_port

JS_DIR = Path(settings.BASE_DIR) / "tests" / "e2e" / "js"


@dataclass
class Engine:
    url: str
    record: Path
    log: Path

    def calls(self) -> list[dict]:
        """What the engine's onVerified('sms') handler received, one entry per run."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]

    def wait_for_calls(self, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls()
            if len(calls) >= count:
                return calls
            time.sleep(0.05)
        raise AssertionError(f"the engine's hook ran {len(self.calls())} time(s), not {count}; log:\n"
                             + self.log.read_text()[-2000:])


@contextmanager
def leanengine(app, directory: Path, hook_key: str | None = None):
    """Run engine.js with the app's keys (and `hook_key` in place of the app's, if given)."""
    assert (JS_DIR / "node_modules" / "leanengine").exists(), "run `make test` (npm ci in tests/e2e/js) first"
    port = free_port()
    engine = Engine(url=f"http://127.0.0.1:{port}", record=directory / "hook-calls.jsonl",
                    log=directory / "engine.log")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LEANCLOUD_APP_ID": app.app_id,
        "LEANCLOUD_APP_KEY": app.app_key,
        "LEANCLOUD_APP_MASTER_KEY": app.master_key,
        "LEANCLOUD_APP_HOOK_KEY": hook_key if hook_key is not None else app.hook_key,
        "LEANCLOUD_APP_PORT": str(port),
        # The engine's storage SDK wants an API server; the hook never calls it.
        "LEANCLOUD_API_SERVER": "http://127.0.0.1:9",
        "HOOK_RECORD": str(engine.record),
    }
    with open(engine.log, "ab") as log:
        process = subprocess.Popen(["node", "engine.js"], cwd=JS_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(engine.url, timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the LeanEngine app did not start:\n" + engine.log.read_text()[-3000:])
            time.sleep(0.1)
        yield engine
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
