"""Delivery throughput: accepted messages through the Redis delivery queue, a Celery worker's delivery loop
and the console carrier to `delivered` (the SMPP path end to end: bench/delivery_smpp.py).

    .venv/bin/python bench/delivery.py                 # 20,000 messages, worker concurrency 1 and 2
    .venv/bin/python bench/delivery.py --messages 50000 --concurrency 2

It writes --messages `accepted` send records with one INSERT ... SELECT, pushes their ids to the
delivery queue the way accepting requests do (in chunks, each one a request's worth), starts a Celery worker
(with beat) on the bench database, and times until every one is `delivered`. The console carrier
writes no file here (SMS_CONSOLE_OUTBOX is empty) but still logs each message. Budget (design.md):
1,000 messages a second end to end; the SMPP part of that budget needs the carriers issue.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

INSERT = """
INSERT INTO sms_message (app_id, phone, channel, category, purpose, template, signature, text, billed_parts, status,
                         carrier, carrier_message_id, attempts, error, created_at, wire_parts, error_code, claimed_by)
SELECT %(app)s, '+86186' || lpad(g::text, 8, '0'), 'sms', 'verification', 'sms_code', '', 'BenchApp',
       '【BenchApp】您正在使用BenchApp服务，您的验证码是：******，请在10分钟内完成验证。', 1, 'accepted',
       '', '', 0, '', now(), 0, '', ''  -- no sealed text: delivery sends the record's text
FROM generate_series(1, %(n)s) AS g
RETURNING id
"""


def run(messages: int, concurrency: int) -> dict:
    from accounts.models import App
    from sms.delivery_queue import get_delivery_queue

    app = App.objects.get(app_id=c.BENCH_APP_ID).id
    conn = c.pg_connect()
    with conn.cursor() as cur:
        cur.execute("TRUNCATE sms_receipt, sms_messagepart, sms_deliveryattempt, sms_verificationcode, sms_message")
        cur.execute(INSERT, {"app": app, "n": messages})
        ids = [row[0] for row in cur.fetchall()]
    conn.close()
    queue = get_delivery_queue()
    queue.client.delete(*queue.keys)
    for start in range(0, len(ids), 10):
        queue.push(ids[start:start + 10])
    c.clear_queue()
    log = open(c.LOGS / f"delivery-c{concurrency}-celery.log", "wb")
    started = time.monotonic()
    worker = subprocess.Popen(
        [c.PYTHON, "-m", "celery", "-A", "smsplatform", "worker", "--loglevel", "WARNING",
         "--concurrency", str(concurrency), "--queues", c.QUEUE, "--pool", "prefork",
         "--beat", "--schedule", str(c.LOGS / "delivery-beat-schedule"),
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=c.ROOT, env=c.service_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        # The worker's delivery loop takes the queued ids as soon as it starts.
        conn = c.pg_connect()
        first_delivery = None
        with conn.cursor() as cur:
            while time.monotonic() - started < 600:
                cur.execute("SELECT count(*) FILTER (WHERE status = 'delivered'), min(finished_at), max(finished_at)"
                            " FROM sms_message")
                delivered, first, last = cur.fetchone()
                if first and first_delivery is None:
                    first_delivery = first
                if delivered == messages:
                    break
                time.sleep(0.2)
        conn.close()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:  # beat, embedded in the worker, can hold a warm shutdown up
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    seconds = (last - first).total_seconds() if first and last else None
    return {"messages": messages, "concurrency": concurrency, "delivered": delivered,
            "first_to_last_s": round(seconds, 2) if seconds else None,
            "messages_per_s": round(messages / seconds) if seconds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    c.stop_on_sigterm()
    c.LOGS.mkdir(parents=True, exist_ok=True)
    c.ensure_database()
    c.setup_django()
    results = [run(args.messages, n) for n in args.concurrency]
    print(c.table(["worker processes", "messages", "delivered", "first to last (s)", "messages/s"],
                  [[r["concurrency"], r["messages"], r["delivered"], r["first_to_last_s"], r["messages_per_s"]]
                   for r in results]))
    print("Budget: 1,000 messages/s from accepted to the receipt processed (console carrier here, no SMPP yet).")
    print(f"JSON: {c.write_result('delivery', {'machine': c.machine_info(), 'results': results})}")


if __name__ == "__main__":
    main()
