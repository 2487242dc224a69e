"""Real processes for the integration tests: gunicorn serving the test database and, when a broker
is configured, a Celery worker. Both read the same environment a deployment would."""
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from .support import Outbox

BASE_DIR = Path(settings.BASE_DIR)
SDK_PYTHON = BASE_DIR / ".venv-sdk" / "bin" / "python"
SDK_SCRIPTS = BASE_DIR / "tests" / "e2e"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class LiveStack:
    url: str
    outbox: Outbox
    env: dict
    log_dir: Path

    def api(self, path: str) -> str:
        return f"{self.url}/1.1/{path.lstrip('/')}"


def start_stack(log_dir: Path, server_processes: int | None = None):
    """Start gunicorn (and a worker when there is a broker); returns (stack, processes)."""
    outbox = log_dir / "outbox.jsonl"
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SMS_CONSOLE_OUTBOX": str(outbox),
        # One client (127.0.0.1) sends everything of the session's live tests: no per-IP flow control
        # (its budgets are tested in-process).
        "RATELIMIT_ENABLE": "false",
        # The servers run the service's own settings, as a deployment does, with the suite's key.
        "DJANGO_SETTINGS_MODULE": "smsplatform.settings",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_TASK_DEFAULT_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
        # Each test flushes the tables (carrier rows too): the servers must not keep them for seconds.
        "SMS_CARRIER_REFRESH_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    processes = server_processes or (3 if settings.REDIS_URL else 1)
    started = []
    server_log = open(log_dir / "gunicorn.log", "ab")
    started.append(subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "smsplatform.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(processes), "--worker-class", "gthread", "--threads", "8", "--backlog", "256"],
        cwd=BASE_DIR, env=env, stdout=server_log, stderr=subprocess.STDOUT,
    ))
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        worker_log = open(log_dir / "celery.log", "ab")
        started.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "smsplatform", "worker", "--loglevel", "WARNING",
             "--concurrency", "2", "--queues", env["CELERY_TASK_DEFAULT_QUEUE"],
             "--beat", "--schedule", str(log_dir / "beat-schedule"),
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=BASE_DIR, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
        ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if requests.get(f"{url}/1.1/date", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or a worker still starting
                pass
            if time.monotonic() > deadline or started[0].poll() is not None:
                raise RuntimeError(f"gunicorn did not come up; see {log_dir / 'gunicorn.log'}:\n"
                                   + (log_dir / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.2)
    except BaseException:
        stop(started)  # whatever went wrong, no server or worker outlives the run
        raise
    return LiveStack(url=url, outbox=Outbox(outbox), env=env, log_dir=log_dir), started


def stop(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run_sdk_script(script: str, *, stack: "LiveStack", app, **env) -> dict:
    """Run tests/e2e/`script` under the official Python SDK against `stack`, as `app`; its JSON report."""
    assert SDK_PYTHON.exists(), "the SDK virtualenv is missing: `make test` builds .venv-sdk"
    finished = subprocess.run(
        [str(SDK_PYTHON), str(SDK_SCRIPTS / script)],
        env={"PATH": "/usr/bin:/bin", "LEANCLOUD_API_SERVER": stack.url, "APP_ID": app.app_id,
             "APP_KEY": app.app_key, "MASTER_KEY": app.master_key, "OUTBOX": str(stack.outbox.path), **env},
        capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout)


def start_smsc(log_dir: Path, *options: str) -> tuple[int, subprocess.Popen]:
    """The stand-in SMSC as its own process (`python -m tests.smsc`), recording every whole message to
    log_dir/smsc-messages.jsonl; (its port, the process)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.smsc", "--port", "0", "--record", str(log_dir / "smsc-messages.jsonl"),
         *options],
        cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=open(log_dir / "smsc.log", "ab"), text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"the stand-in SMSC did not start; see {log_dir / 'smsc.log'}")
    return json.loads(line)["port"], process


def smsc_messages(log_dir: Path) -> list[dict]:
    path = log_dir / "smsc-messages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def start_worker(log_dir: Path, env: dict, tag: str = "celery") -> subprocess.Popen:
    """A Celery worker (with beat, so the safety nets run) in its own process group, so that a test can
    kill it and its pool children at once."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "smsplatform", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--queues", env["CELERY_TASK_DEFAULT_QUEUE"],
         "--beat", "--schedule", str(log_dir / f"{tag}-beat-schedule"),
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=BASE_DIR, env=env, stdout=open(log_dir / f"{tag}.log", "ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def live_env(log_dir: Path, **extra) -> dict:
    """The environment start_stack gives its processes, with `extra` on top."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SMS_CONSOLE_OUTBOX": str(log_dir / "outbox.jsonl"),
        "RATELIMIT_SMS_PER_IP": "",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_TASK_DEFAULT_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
        "SMS_CARRIER_REFRESH_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env
