"""Delivery end to end over SMPP: accepted messages, through the Redis delivery queue, a real Celery
worker's delivery loop (it holds the bind), `submit_sm` to the stand-in SMSC (its own process,
`python -m tests.smsc`), the SMSC's receipts back on the bind, to the receipt written in PostgreSQL.

    .venv/bin/python bench/delivery_smpp.py                       # peak (20,000 messages) + steady rates
    .venv/bin/python bench/delivery_smpp.py --skip-steady --repeats 3
    .venv/bin/python bench/delivery_smpp.py --skip-peak --rates 50 80 200 500 1000 --duration 20

Peak: --messages `accepted` records (sealed texts, as accepting writes them) are written with one
INSERT ... SELECT and their ids queued, then the worker starts; timed from the first claim to the last
receipt written (max(claimed_at) .. max(finished_at) of the records). Budget: 1,300 msg/s.

Steady: ids are pushed one at a time at a constant rate for --duration seconds (each record's
created_at is the time its id is due, so claimed_at - created_at is the delay batching added before
submit, p50/p99); CPU per message delivered of the worker tree, our PostgreSQL backends (not the
pusher's), Redis and the SMSC, against the peak's (budget: within 1.5x).
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

SEALED_TEXT = "【BenchApp】您正在使用BenchApp服务，您的验证码是：123456，请在10分钟内完成验证。"
MASKED_TEXT = SEALED_TEXT.replace("123456", "******")

INSERT = """
INSERT INTO sms_message (app_id, phone, channel, category, purpose, template, signature, text, billed_parts, status,
                         carrier, carrier_message_id, attempts, error, created_at, wire_parts, sealed, error_code,
                         claimed_by)
SELECT %(app)s, '+86186' || lpad((%(base)s + g)::text, 8, '0'), 'sms', 'verification', 'sms_code', '', 'BenchApp',
       %(masked)s, 1, 'accepted', '', '', 0, '', %(t0)s + (g - 1) * %(step)s * interval '1 second', 0, %(sealed)s, '', ''
FROM generate_series(1, %(n)s) AS g
RETURNING id
"""


def clean(conn) -> None:
    # TRUNCATE, not DELETE: each run starts on tables and indexes without the dead rows of the last one.
    with conn.cursor() as cur:
        cur.execute("TRUNCATE sms_receipt, sms_messagepart, sms_deliveryattempt, sms_verificationcode, sms_message")


def write_accepted(n: int, *, t0: float, step: float, base: int = 0) -> list[int]:
    from datetime import datetime, timezone

    from accounts.models import App
    from sms.send_records import seal_for_delivery

    app = App.objects.get(app_id=c.BENCH_APP_ID).id
    sealed = seal_for_delivery(text=SEALED_TEXT, code="123456")
    conn = c.pg_connect()
    with conn.cursor() as cur:
        cur.execute(INSERT, {"app": app, "n": n, "base": base, "masked": MASKED_TEXT, "sealed": sealed,
                             "t0": datetime.fromtimestamp(t0, timezone.utc), "step": step})
        ids = sorted(row[0] for row in cur.fetchall())
    conn.close()
    return ids


def start_smsc(tag: str):
    log = open(c.LOGS / f"{tag}-smsc.log", "wb")
    process = subprocess.Popen([c.PYTHON, "-m", "tests.smsc", "--port", "0", "--no-keep-received"], cwd=c.ROOT,
                               stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    port = json.loads(process.stdout.readline())["port"]
    return port, process


def start_worker(tag: str, port: int, args) -> subprocess.Popen:
    env = c.service_env(
        SMS_CARRIERS=f"smpp://smsp:secret@127.0.0.1:{port}?source=BenchApp&window={args.window}&pipeline={args.pipeline}"
                     f"&binds={args.binds}&name=smpp-bench",
        SMS_DELIVERY_BATCH=args.batch, SMS_DELIVERY_LINGER_MS=args.linger_ms,
        SMS_DELIVERY_TARGET_BATCH=args.target_batch,
        SMS_RECEIPT_LINGER_MS=args.receipt_linger_ms, LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [c.PYTHON, "-m", "celery", "-A", "smsplatform", "worker", "--loglevel", "WARNING", "--concurrency", "1",
         "--queues", c.QUEUE, "--pool", "prefork", "--beat", "--schedule", str(c.LOGS / f"{tag}-beat-schedule"),
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=c.ROOT, env=env, stdout=open(c.LOGS / f"{tag}-celery.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_started(client, since: float, timeout: float = 60.0) -> None:
    """Until the worker's delivery loop has its heartbeat (its start-up done: on a busy machine that
    takes more than the few seconds once slept here, and was counted as delivery), then 2 s more."""
    deadline = time.monotonic() + timeout

    def started():
        return any(float(client.get(key) or 0) >= since for key in client.scan_iter(match="smsp-loop:*:alive"))

    while not started() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)


def stop(process) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Meter:
    """CPU seconds of the worker tree, our PostgreSQL backends (but `exclude`), Redis and the SMSC."""

    def __init__(self, worker, smsc, exclude=()):
        self.worker, self.smsc, self.exclude = worker, smsc, set(exclude)

    def _sample(self):
        table = c._proc_table()
        backends = c._our_backends() - self.exclude
        return table, backends

    def start(self):
        self.t0 = time.monotonic()
        self.table0, _ = self._sample()
        self.busy0, _ = c._machine_busy()
        return self

    def stop(self):
        table1, backends = self._sample()
        busy1, _ = c._machine_busy()
        wall = time.monotonic() - self.t0

        def used(pids):
            return sum(table1[p][2] - (self.table0[p][2] if p in self.table0 else 0.0) for p in pids if p in table1)

        out = {
            "worker": used(c._tree(table1, self.worker.pid)),
            "postgres": used(backends),
            "redis": used({p for p, (_, comm, _) in table1.items() if comm.startswith("redis-server")}),
            "smsc": used({self.smsc.pid}),
        }
        out["ours"] = sum(out.values())
        out["machine_busy"] = busy1 - self.busy0
        out["everything_else"] = max(0.0, out["machine_busy"] - out["ours"])
        out["wall"] = wall
        return out


def wait_settled(ids_from: int, total: int, timeout: float) -> dict:
    conn = c.pg_connect()
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while True:
            cur.execute("SELECT count(*) FILTER (WHERE status IN ('delivered', 'delivery_failed', 'call_failed')),"
                        " count(*) FILTER (WHERE status = 'call_failed') FROM sms_message WHERE id >= %s", [ids_from])
            done, failed = cur.fetchone()
            if done >= total or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cur.execute("SELECT min(claimed_at), max(finished_at), count(*) FILTER (WHERE status = 'delivered')"
                    " FROM sms_message WHERE id >= %s", [ids_from])
        first, last, delivered = cur.fetchone()
        cur.execute("SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY"
                    " extract(epoch FROM claimed_at - created_at)) FROM sms_message WHERE id >= %s", [ids_from])
        delays = cur.fetchone()[0] or [None, None]
        cur.execute("SELECT count(DISTINCT claimed_at) FROM sms_message WHERE id >= %s", [ids_from])
        batches = cur.fetchone()[0]
    conn.close()
    return {"done": done, "failed": failed, "delivered": delivered, "first_claim": first, "last_receipt": last,
            "delay_p50_ms": round(delays[0] * 1000, 1) if delays[0] is not None else None,
            "delay_p99_ms": round(delays[1] * 1000, 1) if delays[1] is not None else None, "batches": batches}


def peak(args, repeat: int) -> dict:
    from sms.delivery_queue import get_delivery_queue

    conn = c.pg_connect()
    clean(conn)
    conn.close()
    ids = write_accepted(args.messages, t0=time.time(), step=0.0)
    queue = get_delivery_queue()
    queue.client.delete(queue.key)
    c.clear_queue()
    port, smsc = start_smsc(f"peak{repeat}")
    since = time.time()
    worker = start_worker(f"peak{repeat}", port, args)
    wait_started(queue.client, since)  # started and idle: its start-up is not the delivery's cost
    meter = Meter(worker, smsc).start()
    pipe = queue.client.pipeline(transaction=False)
    for start in range(0, len(ids), 10):  # each a request's worth, the way accepting pushes them
        pipe.rpush(queue.key, *ids[start:start + 10])
    pipe.execute()
    try:
        result = wait_settled(ids[0], len(ids), timeout=600)
        cpu = meter.stop()
    finally:
        stop(worker)
        stop(smsc)
    seconds = (result["last_receipt"] - result["first_claim"]).total_seconds()
    result.update(messages=len(ids), seconds=round(seconds, 2), messages_per_s=round(len(ids) / seconds),
                  cpu_ms_per_message={k: round(v * 1000 / len(ids), 3) for k, v in cpu.items()
                                      if k not in ("machine_busy", "wall")},
                  everything_else_cores=round(cpu["everything_else"] / cpu["wall"], 2))
    result.pop("first_claim"), result.pop("last_receipt")
    return result


def steady(args, rate: float) -> dict:
    from sms.delivery_queue import get_delivery_queue

    conn = c.pg_connect()
    clean(conn)
    conn.close()
    queue = get_delivery_queue()
    queue.client.delete(queue.key)
    c.clear_queue()
    port, smsc = start_smsc(f"steady{int(rate)}")
    since = time.time()
    worker = start_worker(f"steady{int(rate)}", port, args)
    wait_started(queue.client, since)  # let it start and idle
    n = int(rate * args.duration)
    t0 = time.time() + 2.0
    ids = write_accepted(n, t0=t0, step=1.0 / rate)
    pusher = c.redis_client()
    pusher_backend = set()
    meter = Meter(worker, smsc, exclude=pusher_backend).start()
    try:
        for i, message_id in enumerate(ids):
            due = t0 + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            pusher.rpush(queue.key, message_id)
        result = wait_settled(ids[0], n, timeout=120)
        cpu = meter.stop()
    finally:
        stop(worker)
        stop(smsc)
    result.pop("first_claim"), result.pop("last_receipt")
    result.update(rate=rate, messages=n, messages_per_batch=round(n / max(1, result["batches"]), 1),
                  cpu_ms_per_message={k: round(v * 1000 / n, 3) for k, v in cpu.items()
                                      if k not in ("machine_busy", "wall")},
                  everything_else_cores=round(cpu["everything_else"] / cpu["wall"], 2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--rates", type=float, nargs="*", default=[50, 80, 200, 500, 1000])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--pipeline", type=int, default=2)
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--linger-ms", type=float, default=50.0)
    parser.add_argument("--target-batch", type=int, default=50)
    parser.add_argument("--receipt-linger-ms", type=float, default=100.0)
    parser.add_argument("--skip-peak", action="store_true")
    parser.add_argument("--skip-steady", action="store_true")
    args = parser.parse_args()
    c.stop_on_sigterm()
    c.LOGS.mkdir(parents=True, exist_ok=True)
    c.ensure_database()
    c.setup_django()
    machine = c.machine_info()
    machine["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    peaks = [] if args.skip_peak else [peak(args, r) for r in range(args.repeats)]
    if peaks:
        print(c.table(["run", "messages", "delivered", "seconds", "msg/s", "CPU ms/msg (ours)", "worker", "postgres",
                       "redis", "smsc", "others' cores"],
                      [[i + 1, p["messages"], p["delivered"], p["seconds"], p["messages_per_s"],
                        p["cpu_ms_per_message"]["ours"], p["cpu_ms_per_message"]["worker"],
                        p["cpu_ms_per_message"]["postgres"], p["cpu_ms_per_message"]["redis"],
                        p["cpu_ms_per_message"]["smsc"], p["everything_else_cores"]] for i, p in enumerate(peaks)]))
        print(f"median peak: {statistics.median(p['messages_per_s'] for p in peaks):,} msg/s (budget 1,300)")
    steadies = [] if args.skip_steady else [steady(args, rate) for rate in args.rates]
    if steadies:
        base = statistics.median(p["cpu_ms_per_message"]["ours"] for p in peaks) if peaks else None
        print(c.table(["rate", "messages", "delivered", "msg/batch", "delay p50 ms", "delay p99 ms", "CPU ms/msg",
                       "worker", "postgres", "redis", "smsc", "x peak", "others' cores"],
                      [[s["rate"], s["messages"], s["delivered"], s["messages_per_batch"], s["delay_p50_ms"],
                        s["delay_p99_ms"], s["cpu_ms_per_message"]["ours"], s["cpu_ms_per_message"]["worker"],
                        s["cpu_ms_per_message"]["postgres"], s["cpu_ms_per_message"]["redis"],
                        s["cpu_ms_per_message"]["smsc"],
                        round(s["cpu_ms_per_message"]["ours"] / base, 2) if base else "-",
                        s["everything_else_cores"]] for s in steadies]))
    path = c.write_result("delivery-smpp", {"machine": machine, "args": vars(args), "peak": peaks, "steady": steadies})
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
