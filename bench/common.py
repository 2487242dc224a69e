"""What the benchmarks share: their own database, Redis DB and Celery queue, the bench app, starting
and stopping gunicorn + a Celery worker, running wrk and the open-loop load generator, tables, JSON.

Everything here is bounded in time and stops what it started. Nothing is read from the caller's
DATABASE_URL / REDIS_URL: a benchmark never touches another database by accident. Override with
BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_QUEUE.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
LOGS = RESULTS / "logs"
WRK_DIR = BENCH_DIR / "wrk"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsp_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
QUEUE = os.environ.get("BENCH_QUEUE", "smsp-bench-delivery")
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"

BENCH_APP_ID = "benchApp-000000000001"
BENCH_APP_KEY = "benchKey-000000000001"
BENCH_MASTER_KEY = "benchMaster-00000000001"
BENCH_APP_NAME = "BenchApp1"  # a valid signature (not letters only): the app signs with its name
from smsplatform.limits import KEY_PREFIX as LIMIT_PREFIX  # noqa: E402
from smsplatform.tokens import sign_header as lc_sign_header  # noqa: E402


def service_env(**extra) -> dict:
    """The environment gunicorn, the worker and in-process Django get: ours, never the caller's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SMS_CONSOLE_OUTBOX")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "smsplatform.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "RATELIMIT_SMS_PER_IP": "",  # per-IP flow control off: one client sends everything
        "SMS_CONSOLE_OUTBOX": "",  # the console carrier writes no file (it still logs each message)
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def stop_on_sigterm() -> None:
    """Turn SIGTERM (e.g. from `timeout`) into SystemExit, so that `finally` stops what we started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def setup_django(**extra):
    """Configure this process for in-process Django work against the bench database."""
    os.environ.update(service_env(**extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def sign_header(key: str = BENCH_APP_KEY) -> str:
    """X-LC-Sign for a run: one signature serves it (made when the run starts)."""
    return lc_sign_header(key)


# --- database and Redis ---------------------------------------------------------------------------

def pg_connect(dbname: str | None = None):
    import psycopg2

    url = urlparse(DATABASE_URL)
    conn = psycopg2.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, dbname=dbname or url.path.lstrip("/"),
    )
    conn.autocommit = True
    return conn


def ensure_database() -> None:
    """Create the bench database if missing, migrate it, and make the bench app."""
    dbname = urlparse(DATABASE_URL).path.lstrip("/")
    conn = pg_connect("postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{dbname}"')
    conn.close()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=service_env(),
                   check=True, timeout=300)
    code = (
        "from accounts.models import App\n"
        "from accounts.services.app_settings import create_app\n"
        f"App.objects.filter(app_id={BENCH_APP_ID!r}).exists() or create_app(name={BENCH_APP_NAME!r}, "
        f"app_id={BENCH_APP_ID!r}, app_key={BENCH_APP_KEY!r}, master_key={BENCH_MASTER_KEY!r})\n"
    )
    subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=service_env(), check=True, timeout=120)


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def clear_limit_keys() -> int:
    """Forget every per-number limit counted so far (ours only: our Redis DB, our prefix)."""
    client = redis_client()
    n = 0
    batch = []
    for key in client.scan_iter(match=LIMIT_PREFIX + "*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            n += client.unlink(*batch)
            batch = []
    if batch:
        n += client.unlink(*batch)
    return n


def clear_queue() -> None:
    """Drop queued delivery tasks of earlier (interrupted) runs: our queue and kombu's bookkeeping."""
    client = redis_client()
    keys = [k for k in client.scan_iter(match=f"{QUEUE}*", count=1000)]
    keys += [k for k in client.scan_iter(match="unacked*", count=1000)]
    keys += [k for k in client.scan_iter(match="_kombu.binding.*", count=1000)]
    if keys:
        client.delete(*keys)


def max_message_id() -> int:
    conn = pg_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM sms_message")
        value = cur.fetchone()[0]
    conn.close()
    return value


def pending_deliveries(cur, since_id: int = 0) -> int:
    cur.execute("SELECT count(*) FROM sms_message WHERE status IN ('accepted', 'sending') AND id > %s", [since_id])
    return cur.fetchone()[0]


def wait_drained(since_id: int = 0, timeout: float = 240.0) -> dict:
    """Wait until the worker has delivered every message after `since_id`; how long it took, what is left."""
    conn = pg_connect()
    start = time.monotonic()
    try:
        with conn.cursor() as cur:
            left = pending_deliveries(cur, since_id)
            first = left
            while left and time.monotonic() - start < timeout:
                time.sleep(0.5)
                left = pending_deliveries(cur, since_id)
            cur.execute("SELECT count(*), count(*) FILTER (WHERE status = 'delivered') FROM sms_message"
                        " WHERE id > %s", [since_id])
            accepted, delivered = cur.fetchone()
    finally:
        conn.close()
    return {"accepted": accepted, "delivered": delivered, "pending_at_end_of_load": first,
            "drain_seconds": round(time.monotonic() - start, 1), "undelivered_after_drain": left}


def message_status_counts() -> dict:
    conn = pg_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM sms_message GROUP BY status")
        counts = dict(cur.fetchall())
    conn.close()
    return counts


# --- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerConfig:
    """A gunicorn configuration: `sync:4` (4 sync workers) or `gthread:2x4` (2 workers x 4 threads)."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> "ServerConfig":
        kind, _, size = text.partition(":")
        if kind == "sync":
            return cls("sync", int(size))
        if kind == "gthread":
            workers, _, threads = size.partition("x")
            return cls("gthread", int(workers), int(threads))
        raise ValueError(f"unknown server config {text!r}: use sync:N or gthread:NxT")

    @property
    def name(self) -> str:
        return f"sync:{self.workers}" if self.worker_class == "sync" else f"gthread:{self.workers}x{self.threads}"


@dataclass
class Stack:
    url: str
    config: ServerConfig
    processes: list
    gunicorn: subprocess.Popen
    worker: subprocess.Popen | None

    def api(self, path: str) -> str:
        return f"{self.url}/1.1/{path.lstrip('/')}"

    def worker_pids(self) -> list[int]:
        """Pids of gunicorn's worker processes (children of the arbiter)."""
        out = subprocess.run(["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_stack(config: ServerConfig, celery_concurrency: int = 1, with_worker: bool = True,
                tag: str = "stack", extra_env: dict | None = None) -> Stack:
    LOGS.mkdir(parents=True, exist_ok=True)
    env = service_env(**(extra_env or {}))
    port = free_port()
    cmd = [PYTHON, "-m", "gunicorn", "smsplatform.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(config.workers), "--worker-class", config.worker_class,
           "--backlog", "2048", "--timeout", "60"]
    if config.worker_class == "gthread":
        cmd += ["--threads", str(config.threads)]
    processes = []
    gunicorn = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(LOGS / f"{tag}-gunicorn.log", "wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(gunicorn)
    worker = None
    if with_worker:
        worker = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "smsplatform", "worker", "--loglevel", "WARNING",
             "--concurrency", str(celery_concurrency), "--queues", QUEUE, "--pool", "prefork",
             "--beat", "--schedule", str(LOGS / f"{tag}-beat-schedule"),
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=open(LOGS / f"{tag}-celery.log", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(worker)
    stack = Stack(f"http://127.0.0.1:{port}", config, processes, gunicorn, worker)
    deadline = time.monotonic() + 60
    while not _http_ok(stack.api("date")):
        if time.monotonic() > deadline or gunicorn.poll() is not None:
            stop_stack(stack)
            raise RuntimeError(f"gunicorn did not come up: see {LOGS / (tag + '-gunicorn.log')}")
        time.sleep(0.2)
    if worker is not None:
        time.sleep(2)  # let the worker connect and declare its queue before the first task is sent
        if worker.poll() is not None:
            stop_stack(stack)
            raise RuntimeError(f"the Celery worker died: see {LOGS / (tag + '-celery.log')}")
    # Warm every worker: imports, DB connections, Redis connections, the Lua script's SHA.
    warm_base = 99_000_000 + int(time.time() * 1000) % 900_000
    headers = {"X-LC-Id": BENCH_APP_ID, "X-LC-Sign": sign_header(), "Content-Type": "application/json"}
    for i in range(4 * config.workers * config.threads):
        _http_ok(stack.api("date"))
        body = json.dumps({"mobilePhoneNumber": f"+86186{warm_base + i:08d}"}).encode()
        try:
            urllib.request.urlopen(urllib.request.Request(stack.api("requestSmsCode"), body, headers), timeout=5).read()
        except OSError:
            pass
    return stack


def stop_stack(stack: Stack) -> None:
    """Stop what start_stack started (their process groups: gunicorn's and Celery's children too)."""
    for process in stack.processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for process in stack.processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


@contextmanager
def running_stack(config: ServerConfig, **kwargs):
    stack = start_stack(config, **kwargs)
    try:
        yield stack
    finally:
        stop_stack(stack)


# --- load generators ------------------------------------------------------------------------------

def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    return path


class PhoneBlocks:
    """Disjoint blocks of +86186xxxxxxxx numbers, so that no number is sent to twice in a minute."""

    BLOCK = 2_000_000

    def __init__(self):
        self.next = int(time.time()) % 40 * self.BLOCK  # a different start each run of a script

    def take(self) -> int:
        base = self.next
        self.next = (self.next + self.BLOCK) % 100_000_000
        return base


def run_wrk(url: str, script: str, duration: float, connections: int, threads: int = 1,
            args: tuple = ()) -> dict:
    """Closed-loop peak load with wrk; the Lua script prints one `BENCHJSON {...}` line."""
    cmd = [require_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s",
           "--timeout", "5s", "-s", str(WRK_DIR / script), url, "--", *[str(a) for a in args]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            result = json.loads(line[len("BENCHJSON "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["ok_rps"] = result["ok200"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk gave no result (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def run_open_loop(url: str, rate: float, duration: float, kind: str, phone_base: int = 0,
                  max_connections: int = 128, warmup: float = 2.0) -> dict:
    """Constant-rate (open-loop) load from bench/loadgen.py in its own process."""
    out = RESULTS / f".loadgen-{os.getpid()}.json"
    cmd = [PYTHON, str(BENCH_DIR / "loadgen.py"), "--url", url, "--rate", str(rate), "--duration", str(duration),
           "--warmup", str(warmup), "--kind", kind, "--phone-base", str(phone_base),
           "--max-connections", str(max_connections), "--app-id", BENCH_APP_ID, "--sign", sign_header(),
           "--out", str(out)]
    subprocess.run(cmd, check=True, timeout=duration + warmup + 60)
    result = json.loads(out.read_text())
    out.unlink()
    return result


# --- reporting ------------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
        return str(v)

    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def machine_info() -> dict:
    info = {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()}
    try:
        conn = pg_connect()
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgres"] = cur.fetchone()[0]
            for name in ("shared_buffers", "synchronous_commit", "fsync"):
                cur.execute(f"SHOW {name}")
                info[f"pg_{name}"] = cur.fetchone()[0]
        conn.close()
    except Exception as exc:  # informational only
        info["postgres_error"] = str(exc)
    return info


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=_json_default))
    (RESULTS / f"{name}-latest.json").write_text(json.dumps(data, indent=2, default=_json_default))
    return path


def _json_default(value):
    if isinstance(value, ServerConfig):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value))


# --- CPU accounting -------------------------------------------------------------------------------
# Where the machine's two cores went during a measurement: our gunicorn and Celery process trees,
# the PostgreSQL backends of our database, Redis, the load generator, and everything else (other
# people's test suites on this shared machine: the noise).

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (ppid, comm, cpu seconds) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


def _tree(table, root: int) -> set[int]:
    pids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent]
        pids.update(children)
        frontier.extend(children)
    return pids


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


def _our_backends() -> set[int]:
    dbname = urlparse(DATABASE_URL).path.lstrip("/")
    try:
        conn = pg_connect()
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [dbname])
            pids = {row[0] for row in cur.fetchall()}
        conn.close()
        return pids
    except Exception:
        return set()


class CpuMeter:
    """CPU seconds used by each component between start() and stop()."""

    def __init__(self, stack: "Stack | None" = None):
        self.stack = stack

    def start(self):
        import resource

        self.t0 = time.monotonic()
        self.table0 = _proc_table()
        self.busy0, self.total0 = _machine_busy()
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def stop(self, requests: int | None = None) -> dict:
        import resource

        table1 = _proc_table()
        busy1, total1 = _machine_busy()
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - self.t0
        backends = _our_backends()

        def used(pids):
            return sum(table1[p][2] - (self.table0[p][2] if p in self.table0 else 0.0) for p in pids if p in table1)

        out = {}
        if self.stack is not None:
            out["gunicorn"] = used(_tree(table1, self.stack.gunicorn.pid))
            if self.stack.worker is not None:
                out["celery"] = used(_tree(table1, self.stack.worker.pid))
        out["postgres_our_db"] = used(backends)
        postgres_all = used({p for p, (_, comm, _) in table1.items() if comm.startswith("postgres")})
        out["postgres_other"] = postgres_all - out["postgres_our_db"]
        out["redis"] = used({p for p, (_, comm, _) in table1.items() if comm.startswith("redis-server")})
        out["load_generator"] = ((children1.ru_utime + children1.ru_stime)
                                 - (self.children0.ru_utime + self.children0.ru_stime))
        machine_busy = busy1 - self.busy0
        out["everything_else"] = max(0.0, machine_busy - sum(out.values()))
        result = {
            "wall_s": round(wall, 2),
            "machine_busy_cores": round(machine_busy / wall, 2) if wall else None,
            "cores": {k: round(v / wall, 3) for k, v in out.items()} if wall else {},
        }
        if requests:
            result["cpu_ms_per_request"] = {k: round(v * 1000 / requests, 3) for k, v in out.items()}
        return result
