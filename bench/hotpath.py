"""Where a requestSmsCode's time goes.

  1. Round trips on the wire, live: gunicorn with ONE sync worker (+ the Celery worker), strace on
     that worker while it serves one requestSmsCode, one wrong and one right verifySmsCode: every
     write to PostgreSQL (:5432) and Redis (:6379) is one round trip; the first bytes of each say
     which statement or command it was. (The code to verify is read from the console carrier's log.)
  2. The ORM's queries of the same calls, in-process with CaptureQueriesContext (what Django sends;
     the wire count adds the health check, BEGIN and COMMIT, which it does not list).
  3. CPU per request, in-process, over --cpu-requests calls, next to GET /1.1/date: the
     time of each step of the hot path (authentication, parsing the number, the limits' Lua script,
     the two INSERTs, COMMIT + queueing the Celery task, ...), next to GET /1.1/date.
  4. One gunicorn worker under load (wrk, --profile-seconds): py-spy samples it, idle time included,
     and the samples are added up by the same steps: the share of the worker's wall time.

    .venv/bin/python bench/hotpath.py            # ~2 minutes; py-spy needs ptrace (root here)
"""
import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

CODE_IN_LOG = re.compile(r"SMS to (\+\d+): .*?(\d{6})")


# --- 1. round trips on the wire -------------------------------------------------------------------

def post(url: str, body: dict) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, json.dumps(body).encode(), {
        "X-LC-Id": c.BENCH_APP_ID, "X-LC-Sign": c.sign_header(), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def strace_one(stack: c.Stack, pid: int, url: str, body: dict) -> tuple[int, list[dict]]:
    """Send one request while strace watches worker `pid`; the worker's writes to PG and Redis."""
    out = c.LOGS / "strace.txt"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-yy", "-s", "400", "-e", "trace=sendto,write,sendmsg",
                               "-o", str(out), "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # strace attaches
    status = post(url, body)
    time.sleep(0.5)
    tracer.terminate()
    tracer.wait(timeout=10)
    trips = []
    for line in out.read_text(errors="replace").splitlines():
        m = re.search(r'(?:sendto|write|sendmsg)\(\d+<TCP:\[[\d.]+:\d+->[\d.]+:(\d+)\]>, "((?:[^"\\]|\\.)*)"', line)
        if not m:
            continue
        port, data = int(m.group(1)), m.group(2)
        if port == 5432:
            trips.append({"to": "postgres", "what": _pg_text(data)})
        elif port == 6379:
            trips.append({"to": "redis", "what": _redis_text(data)})
    return status, trips


def _pg_text(data: str) -> str:
    """The SQL of a simple-query message: 'Q', length, text."""
    text = data.encode().decode("unicode_escape", errors="replace")
    if text.startswith("Q"):
        text = text[5:]
    return re.sub(r"\s+", " ", text.rstrip("\x00"))[:110]


def _redis_text(data: str) -> str:
    """The command names of a RESP request (several when pipelined)."""
    parts = data.split("\\r\\n")
    names, i = [], 0
    while i < len(parts):
        if parts[i].startswith("*") and i + 2 < len(parts):
            names.append(parts[i + 2])
            if names[-1].upper() in ("EVALSHA", "LPUSH", "SMEMBERS", "ZREM", "SADD", "PUBLISH", "BRPOP"):
                names[-1] += " " + parts[i + 4][:40] if i + 4 < len(parts) else ""
        i += 1
    return " | ".join(names)[:110] + (" (pipeline)" if len(names) > 1 else "")


def wire_round_trips() -> dict:
    if not shutil.which("strace"):
        return {"error": "strace not installed (apt-get install strace)"}
    c.clear_limit_keys()
    result = {}
    with c.running_stack(c.ServerConfig("sync", 1), tag="profile-wire") as stack:
        [pid] = stack.worker_pids()
        phone = f"+86186{97_000_000 + int(time.time()) % 900_000:08d}"
        # The first request of a connection pays for connecting; measure a request of the steady state.
        post(stack.api("requestSmsCode"), {"mobilePhoneNumber": f"+86186{96_000_000 + int(time.time()) % 900_000:08d}"})
        status, trips = strace_one(stack, pid, stack.api("requestSmsCode"), {"mobilePhoneNumber": phone})
        result["requestSmsCode"] = {"status": status, "trips": trips}
        code = None
        log = c.LOGS / "profile-wire-celery.log"
        deadline = time.monotonic() + 20
        while code is None and time.monotonic() < deadline:
            for number, found in CODE_IN_LOG.findall(log.read_text(errors="replace")):
                if number == phone:
                    code = found
            time.sleep(0.2)
        wrong = "000000" if code != "000000" else "111111"
        status, trips = strace_one(stack, pid, stack.api(f"verifySmsCode/{wrong}"), {"mobilePhoneNumber": phone})
        result["verifySmsCode (wrong code)"] = {"status": status, "trips": trips}
        if code:
            status, trips = strace_one(stack, pid, stack.api(f"verifySmsCode/{code}"), {"mobilePhoneNumber": phone})
            result["verifySmsCode (right code)"] = {"status": status, "trips": trips}
    return result


# --- 2. the ORM's queries -------------------------------------------------------------------------

def orm_queries() -> list[dict]:
    from bench.growth import capture_hot_path

    return capture_hot_path()


# --- 3. CPU per step, in-process ------------------------------------------------------------------
# A profiler's clock inflates code that makes many small calls (the ORM) far more than the rest, so
# the steps are timed by subtraction instead: the whole request, then the same request with one step
# replaced by a no-op (in this process only), and a few steps called alone; CPU clock, no profiler.

def _cpu_ms(call, n: int) -> float:
    start = time.process_time()
    for i in range(n):
        call(i)
    return (time.process_time() - start) * 1000 / n


def cpu_per_step(n: int) -> dict:
    from unittest import mock

    from django.test import Client

    from accounts.selectors import app_by_app_id
    from sms import codes, sending
    from sms.sending_limits import sending_rules
    from smsplatform.limits import get_limiter
    from smsplatform.phone import phone_from_param

    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"HTTP_X_LC_ID": c.BENCH_APP_ID, "HTTP_X_LC_SIGN": c.sign_header()}
    serial = iter(range(10**7))
    base = 95_000_000 + int(time.time()) % 900_000

    def phone():
        return f"+86186{(base + next(serial)) % 100_000_000:08d}"

    def rsc(_):
        response = client.post("/1.1/requestSmsCode", data=json.dumps({"mobilePhoneNumber": phone()}),
                               content_type="application/json", **headers)
        assert response.status_code == 200, response.content

    def date(_):
        assert client.get("/1.1/date").status_code == 200

    app = app_by_app_id(c.BENCH_APP_ID)
    limiter = get_limiter()
    for i in range(30):
        rsc(i)
        date(i)
    out = {"requestSmsCode": _cpu_ms(rsc, n), "date": _cpu_ms(date, n)}
    with mock.patch.object(sending, "queue_delivery", lambda ids: None):
        out["requestSmsCode without queueing the Celery task"] = _cpu_ms(rsc, n)
    with mock.patch.object(codes, "request_code", lambda **kw: None):
        out["requestSmsCode without codes.request_code"] = _cpu_ms(rsc, n)
    steps = {
        "auth: app_by_app_id (ORM SELECT app + account)": _cpu_ms(lambda i: app_by_app_id(c.BENCH_APP_ID), n),
        "parse phone (phonenumbers)": _cpu_ms(lambda i: phone_from_param("+8618612345678"), n),
        "limits: Lua script (one EVALSHA)": _cpu_ms(lambda i: limiter.acquire(sending_rules(
            app=app, phone=phone(), channel="sms", category="verification", signature="BenchCpu")), n),
        "queue Celery task (deliver_messages.delay)": (out["requestSmsCode"]
                                                       - out["requestSmsCode without queueing the Celery task"]),
        "codes.request_code in all (limits, 2 INSERTs, COMMIT, queueing)": (
            out["requestSmsCode"] - out["requestSmsCode without codes.request_code"]),
    }
    steps["of which BEGIN + 2 INSERTs + COMMIT (ORM), by difference"] = (
        steps["codes.request_code in all (limits, 2 INSERTs, COMMIT, queueing)"]
        - steps["limits: Lua script (one EVALSHA)"] - steps["queue Celery task (deliver_messages.delay)"])
    steps["rest: Django + DRF + auth + parsing around it"] = out["requestSmsCode without codes.request_code"]
    out["steps"] = steps
    c.clear_limit_keys()
    return out


# --- 4. a worker under load -----------------------------------------------------------------------

WALL_BUCKETS = [  # first match wins, from the innermost frame outwards
    ("DB health check (SELECT 1)", ["DatabaseWrapper.is_usable"]),
    ("COMMIT", ["BaseDatabaseWrapper._commit"]),
    ("queue Celery task (on commit)", ["queue_delivery"]),
    ("limits: Redis Lua script", ["RedisLimiter.acquire"]),
    ("INSERT ... ON CONFLICT code (bulk_create)", ["QuerySet.bulk_create"]),
    ("INSERT sms_message (ORM create)", ["QuerySet.create"]),
    ("auth: SELECT app (app_by_app_id)", ["app_by_app_id"]),
    ("parse phone (phonenumbers)", ["phone_from_param"]),
    ("compose text", ["compose_sms"]),
    ("other Django/DRF/gunicorn work in a request", ["SyncWorker.handle", "handle_request"]),
]


def worker_under_load(seconds: float, config: c.ServerConfig, connections: int) -> dict:
    spy = c.ROOT / ".venv" / "bin" / "py-spy"
    if not spy.exists():
        return {"error": "py-spy is not installed: make install (requirements-dev.txt pins it)"}
    raw = c.LOGS / "py-spy-worker.txt"
    c.clear_limit_keys()
    with c.running_stack(config, tag="profile-load") as stack:
        pid = stack.worker_pids()[0]
        recorder = subprocess.Popen([str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "250",
                                     "--idle", "-f", "raw", "-o", str(raw)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = c.run_wrk(stack.api("requestSmsCode"), "request_sms_code.lua", seconds + 2, connections,
                         args=(c.PhoneBlocks().take(), c.BENCH_APP_ID, c.sign_header()))
        recorder.wait(timeout=seconds + 30)
        c.wait_drained(timeout=60)
    buckets = collections.Counter()
    total = 0
    leaf_self = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        count = int(count)
        total += count
        frames = [f.split(" (")[0] for f in stack_text.split(";")]
        label = "idle: waiting for a connection (accept/select)"
        for name, markers in WALL_BUCKETS:
            if any(any(marker in frame for marker in markers) for frame in frames):
                label = name
                break
        buckets[label] += count
        leaf_self[frames[-1]] += count
    return {
        "config": config.name,
        "load_rps": load["ok_rps"],
        "load_non200": load["non200"],
        "samples": total,
        "share_of_worker_wall_time": {k: v / total for k, v in buckets.most_common()},
        "top_leaf_frames": {k: v / total for k, v in leaf_self.most_common(12)},
        "raw": str(raw),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-requests", type=int, default=300)
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument("--config", default="sync:4", help="server config of the profile under load")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if args.cpu_requests > 5000 or args.profile_seconds > 60:
        parser.error("bounded: at most 5000 requests and 60 s")
    c.stop_on_sigterm()
    c.ensure_database()
    c.setup_django()
    result = {"args": vars(args), "machine": c.machine_info()}

    print("== 1. Round trips on the wire (strace on one sync worker, one request each) ==")
    wire = result["wire"] = wire_round_trips()
    rows = []
    for call, data in wire.items():
        if not isinstance(data, dict) or "trips" not in data:
            print(call, data)
            continue
        pg = [t for t in data["trips"] if t["to"] == "postgres"]
        rd = [t for t in data["trips"] if t["to"] == "redis"]
        rows.append([call, data["status"], len(pg), len(rd)])
        print(f"\n-- {call} (HTTP {data['status']}): {len(pg)} PostgreSQL + {len(rd)} Redis round trips")
        for t in data["trips"]:
            print(f"   {t['to']:8} {t['what']}")
    print()
    print(c.table(["call", "HTTP", "PostgreSQL round trips", "Redis round trips"], rows))

    print("\n== 2. Queries the ORM sends (CaptureQueriesContext) ==")
    result["orm"] = orm_queries()
    for call in result["orm"]:
        print(f"\n-- {call['call']} (HTTP {call['status']}): {len(call['queries'])} queries")
        for sql in call["queries"]:
            print(f"   {sql[:160]}")

    print(f"\n== 3. CPU per request in this process ({args.cpu_requests} calls each, CPU clock, no profiler) ==")
    cpu = result["cpu"] = cpu_per_step(args.cpu_requests)
    print(c.table(["call", "CPU ms"], [[k, v] for k, v in cpu.items() if k != "steps"]))
    print()
    print(c.table(["step of requestSmsCode", "CPU ms", "share"],
                  [[k, v, f"{100 * v / cpu['requestSmsCode']:.0f}%"] for k, v in cpu["steps"].items()]))

    print(f"\n== 4. One gunicorn worker under wrk load ({args.config}, {args.profile_seconds:.0f} s, py-spy --idle) ==")
    load = result["load_profile"] = worker_under_load(args.profile_seconds, c.ServerConfig.parse(args.config),
                                                      args.connections)
    if "error" in load:
        print(load["error"])
    else:
        print(f"load: {load['load_rps']:.0f} requestSmsCode/s, {load['load_non200']} non-200; {load['samples']} samples")
        print(c.table(["step", "share of the worker's wall time"],
                      [[k, f"{100 * v:.1f}%"] for k, v in load["share_of_worker_wall_time"].items()]))
        print("\nInnermost frames:")
        print(c.table(["frame", "share"], [[k, f"{100 * v:.1f}%"] for k, v in load["top_leaf_frames"].items()]))
    print(f"\nJSON: {c.write_result('hotpath', result)}")


if __name__ == "__main__":
    main()
