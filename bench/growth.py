"""Growth benchmark against design.md's budget: with a million send records the API stays within
1.2x of its speed on an empty database, because every query on a hot path is served by an index.

  1. empty: empty sms_message / sms_verificationcode, VACUUM ANALYZE, the API benchmark
     (bench/api.py's measure_config, one server config), and EXPLAIN ANALYZE of every query of one
     requestSmsCode, one wrong and one right verifySmsCode (captured with CaptureQueriesContext);
  2. fill: --rows send records (default 1,000,000) over --apps apps (default 1,000; 10% of the rows
     belong to the bench app itself) and one live verification code per record, with
     INSERT ... SELECT generate_series (no ORM loop), then VACUUM ANALYZE;
  3. filled: the same API benchmark and the same EXPLAINs;
  4. the comparison, and (unless --keep) the database emptied again.

Every plan is checked for a sequential scan; any is reported as a failure.

    .venv/bin/python bench/growth.py                       # ~8 minutes
    .venv/bin/python bench/growth.py --explain-only        # plans on whatever the database holds now
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

FILL_APP_PREFIX = "GrowthApp"
FILL_SIGNATURE = "GrowthFill"


def empty_tables() -> None:
    conn = c.pg_connect()
    with conn.cursor() as cur:
        cur.execute("TRUNCATE sms_verificationcode, sms_message")
        cur.execute("DELETE FROM accounts_app WHERE name LIKE %s", [FILL_APP_PREFIX + "%"])
        cur.execute("VACUUM ANALYZE sms_message")
        cur.execute("VACUUM ANALYZE sms_verificationcode")
        cur.execute("VACUUM ANALYZE accounts_app")
    conn.close()


def create_fill_apps(n: int) -> None:
    """n apps through the ORM's bulk_create (fields' defaults come from the models, not the DB)."""
    from accounts.models import Account, App

    account, _ = Account.objects.get_or_create(name="growth-bench")
    existing = App.objects.filter(name__startswith=FILL_APP_PREFIX).count()
    apps = []
    for i in range(existing, n):
        app = App(account=account, name=f"{FILL_APP_PREFIX}{i}")
        app.fill_missing_keys()
        apps.append(app)
    App.objects.bulk_create(apps, batch_size=1000)


FILL_MESSAGES = """
INSERT INTO sms_message (app_id, phone, channel, category, purpose, template, signature, text, billed_parts, status,
                         carrier, carrier_message_id, attempts, error, created_at, submitted_at, finished_at,
                         verified_at)
SELECT CASE WHEN g %% 10 = 0 THEN %(bench_app)s ELSE apps.ids[1 + (g %% apps.n)] END,
       '+86139' || lpad(((g::bigint * 7919) %% 100000000)::text, 8, '0'),
       'sms', 'verification', 'sms_code', '', %(signature)s,
       '【' || %(signature)s || '】您正在使用GrowthFill服务，您的验证码是：' || lpad((g %% 1000000)::text, 6, '0')
         || '，请在10分钟内完成验证。',
       1,
       (ARRAY['delivered', 'delivered', 'delivered', 'verified', 'delivery_failed'])[1 + g %% 5],
       'console', md5(g::text), 1, '',
       t.created, t.created + interval '50 milliseconds', t.created + interval '3 seconds',
       CASE WHEN g %% 5 = 3 THEN t.created + interval '40 seconds' END
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT now() - make_interval(secs => (%(rows)s - g) * 2.5) AS created) AS t,
     (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM accounts_app WHERE name LIKE %(prefix)s) AS apps
"""

FILL_CODES = """
INSERT INTO sms_verificationcode (app_id, phone, purpose, code_hash, expires_at, wrong_guesses, used_at,
                                  message_id, created_at)
SELECT app_id, phone, purpose, encode(sha256(id::text::bytea), 'hex'), created_at + interval '10 minutes',
       0, verified_at, id, created_at
FROM sms_message WHERE signature = %(signature)s
ON CONFLICT (app_id, phone, purpose) DO NOTHING
"""


def fill(rows: int, apps: int) -> dict:
    from accounts.models import App

    timings = {}
    t = time.monotonic()
    create_fill_apps(apps)
    bench_app = App.objects.get(app_id=c.BENCH_APP_ID).id
    timings["apps_s"] = round(time.monotonic() - t, 1)
    conn = c.pg_connect()
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        params = {"bench_app": bench_app, "rows": rows, "signature": FILL_SIGNATURE, "prefix": FILL_APP_PREFIX + "%"}
        t = time.monotonic()
        cur.execute(FILL_MESSAGES, params)
        timings["messages_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        cur.execute(FILL_CODES, params)
        timings["codes_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        for table in ("sms_message", "sms_verificationcode", "accounts_app"):
            cur.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_analyze_s"] = round(time.monotonic() - t, 1)
    conn.close()
    return timings


def table_sizes() -> dict:
    conn = c.pg_connect()
    out = {}
    with conn.cursor() as cur:
        for table in ("sms_message", "sms_verificationcode", "accounts_app"):
            cur.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}")
            rows, size = cur.fetchone()
            out[table] = {"rows": rows, "size_with_indexes": size}
    conn.close()
    return out


# --- the queries of the hot path, and their plans -------------------------------------------------

def capture_hot_path() -> list[dict]:
    """The SQL of one requestSmsCode, one wrong and one right verifySmsCode, as Django sent it."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import sms.codes

    known = "246810"
    phone = f"+86186{99_900_000 + int(time.time()) % 99_999:08d}"
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"HTTP_X_LC_ID": c.BENCH_APP_ID, "HTTP_X_LC_SIGN": c.sign_header()}
    body = json.dumps({"mobilePhoneNumber": phone})
    original = sms.codes.new_code
    sms.codes.new_code = lambda: known  # only in this process: so that we know the code to verify
    try:
        calls = [
            ("requestSmsCode", "/1.1/requestSmsCode"),
            ("verifySmsCode (wrong code)", "/1.1/verifySmsCode/135790"),
            ("verifySmsCode (right code)", f"/1.1/verifySmsCode/{known}"),
        ]
        captured = []
        for name, path in calls:
            with CaptureQueriesContext(connection) as ctx:
                response = client.post(path, data=body, content_type="application/json", **headers)
            captured.append({"call": name, "status": response.status_code,
                             "queries": [q["sql"] for q in ctx.captured_queries]})
    finally:
        sms.codes.new_code = original
    return captured


def _walk(node, found):
    found.append({k: node.get(k) for k in ("Node Type", "Relation Name", "Index Name", "Plan Rows", "Actual Rows")
                  if node.get(k) is not None})
    for child in node.get("Plans", []):
        _walk(child, found)


def explain(sql: str) -> dict:
    """EXPLAIN ANALYZE `sql` in a transaction that is rolled back (writes included)."""
    conn = c.pg_connect()
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0][0]
            conn.rollback()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            text = "\n".join(row[0] for row in cur.fetchall())
            conn.rollback()
    finally:
        conn.close()
    nodes = []
    _walk(plan["Plan"], nodes)
    seq_scans = [n for n in nodes if n.get("Node Type") == "Seq Scan"]
    indexes = sorted({n["Index Name"] for n in nodes if n.get("Index Name")})
    arbiter = plan["Plan"].get("Conflict Arbiter Indexes")
    return {
        "execution_ms": plan.get("Execution Time"),
        "planning_ms": plan.get("Planning Time"),
        "nodes": nodes,
        "indexes": indexes + (arbiter or []),
        "seq_scans": [n.get("Relation Name") for n in seq_scans],
        "plan": text,
    }


def explain_hot_path() -> list[dict]:
    out = []
    for call in capture_hot_path():
        for sql in call["queries"]:
            verb = sql.lstrip().split(None, 1)[0].upper()
            entry = {"call": call["call"], "status": call["status"], "sql": sql}
            if verb in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                entry.update(explain(sql))
                # A pure INSERT ... VALUES reads no table: its only index work is maintenance.
                entry["uses_index"] = bool(entry["indexes"]) or (verb == "INSERT" and not entry["seq_scans"])
            else:
                entry["uses_index"] = None
            out.append(entry)
    return out


def print_plans(label: str, plans: list[dict]) -> None:
    print(f"\n=== Hot-path queries and plans ({label}) ===")
    for p in plans:
        print(f"\n-- {p['call']} (HTTP {p['status']}): {p['sql'][:400]}")
        if p.get("plan"):
            print("   " + p["plan"].replace("\n", "\n   "))
            print(f"   => indexes: {', '.join(p['indexes']) or '-'}; seq scans: {', '.join(p['seq_scans']) or 'none'}")


def plan_rows(plans_empty, plans_full) -> list[list]:
    rows = []
    for i, p in enumerate(plans_full):
        e = plans_empty[i] if i < len(plans_empty) else {}
        rows.append([p["call"], p["sql"].split(None, 1)[0] + " " + _table_of(p["sql"]),
                     ", ".join(p.get("indexes", [])) or "-", "SEQ SCAN" if p.get("seq_scans") else "ok",
                     e.get("execution_ms"), p.get("execution_ms")])
    return rows


def _table_of(sql: str) -> str:
    for word in ("FROM", "INTO", "UPDATE"):
        marker = f'{word} "'
        if marker in sql:
            return sql.split(marker, 1)[1].split('"', 1)[0]
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="send records to add (1,000,000)")
    parser.add_argument("--apps", type=int, default=1000, help="apps they spread over (1000)")
    parser.add_argument("--config", default="gthread:2x8", help="gunicorn config (see bench/api.py)")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rate-duration", type=float, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the filled database as it is at the end")
    parser.add_argument("--explain-only", action="store_true", help="only print the plans, on the data there is")
    args = parser.parse_args()
    if args.rows > 5_000_000 or args.repeats > 10 or args.duration > 120 or args.rate_duration > 120:
        parser.error("bounded: at most 5,000,000 rows, 10 repeats, 120 s per run")

    c.stop_on_sigterm()
    c.ensure_database()
    c.setup_django()
    from bench import api

    if args.explain_only:
        print(json.dumps(table_sizes(), indent=1))
        print_plans("as is", explain_hot_path())
        return

    c.require_wrk()
    config = c.ServerConfig.parse(args.config)
    blocks = c.PhoneBlocks()
    bench_kwargs = dict(duration=args.duration, repeats=args.repeats, rate_duration=args.rate_duration,
                        connections=args.connections, celery_concurrency=args.celery_concurrency, blocks=blocks)
    result = {"args": vars(args), "machine": c.machine_info()}
    try:
        print(f"Growth benchmark, {config.name}: emptying the bench database")
        empty_tables()
        result["empty_sizes"] = table_sizes()
        result["empty_plans"] = explain_hot_path()
        empty_tables()
        print("[empty] API benchmark")
        result["empty"] = api.measure_config(config, tag="growth-empty", **bench_kwargs)

        print(f"Filling: {args.rows:,} send records and codes over {args.apps:,} apps")
        result["fill_timings"] = fill(args.rows, args.apps)
        result["filled_sizes"] = table_sizes()
        print(f"  done in {result['fill_timings']}: {result['filled_sizes']}")
        result["filled_plans"] = explain_hot_path()
        print("[filled] API benchmark")
        result["filled"] = api.measure_config(config, tag="growth-filled", **bench_kwargs)
    finally:
        if not args.keep and "filled_sizes" in result:
            print("Emptying the bench database again (--keep leaves it filled)")
            empty_tables()

    e, f = result["empty"]["summary"], result["filled"]["summary"]
    e["label"], f["label"] = "empty", f"{result['filled_sizes']['sms_message']['rows']:,} rows"
    print_plans("filled", result["filled_plans"])
    print()
    print(c.table(["call", "query", "index used", "check", "ms empty", "ms filled"],
                  plan_rows(result["empty_plans"], result["filled_plans"])))
    print()
    print(c.table(api.SUMMARY_HEADERS, [api.summary_row(e, "empty"), api.summary_row(f, f["label"])]))
    print()
    print(api.cpu_table([result["empty"], result["filled"]], label_key="label"))
    print()
    print(api.capacity_table([result["empty"], result["filled"]], label_key="label"))
    slowdown = {
        "rps_request_sms_code": e["rps_request_sms_code"] / f["rps_request_sms_code"],
        "rps_date": e["rps_date"] / f["rps_date"],
        "p50": f["p50_ms"] / e["p50_ms"],
        "p99": f["p99_ms"] / e["p99_ms"],
    }
    seq = [p for p in result["filled_plans"] if p.get("seq_scans")]
    result["slowdown"] = slowdown
    result["budget"] = {"within_1_2x": slowdown["rps_request_sms_code"] <= 1.2, "no_seq_scan": not seq}
    print(f"\nSlowdown filled vs empty (>1 is slower): requestSmsCode throughput x{slowdown['rps_request_sms_code']:.2f}, "
          f"p50 x{slowdown['p50']:.2f}, p99 x{slowdown['p99']:.2f}; /date x{slowdown['rps_date']:.2f}.")
    print(f"Budget (throughput within 1.2x): {'ok' if result['budget']['within_1_2x'] else 'FAIL'}; "
          f"every hot-path query indexed: {'ok' if not seq else 'FAIL: ' + str([p['sql'][:80] for p in seq])}")
    print(f"JSON: {c.write_result('growth', result)}")


if __name__ == "__main__":
    main()
