"""API benchmark against the performance budget (design.md): on the same server,

  * peak requests/second of GET /1.1/date and of POST /1.1/requestSmsCode (wrk, closed loop),
    budget: requestSmsCode >= 0.5 x /1.1/date;
  * p50/p99 latency of requestSmsCode at a constant rate of half its peak (bench/loadgen.py, open
    loop), budget: p99 < 50 ms.

Each requestSmsCode is signed (X-LC-Id + X-LC-Sign) and goes to a different +86186 number, so the
per-number limits never refuse one; per-IP flow control is off. A Celery worker (console carrier,
no outbox file) delivers what is accepted, on the same two cores, as in production; after each
requestSmsCode run we wait until it has delivered everything, and report how long that took.

Every answer that is not a 200 is counted and reported. Runs are interleaved and repeated; the
table shows medians. Usage:

    .venv/bin/python bench/api.py                          # default configs, ~8 minutes
    .venv/bin/python bench/api.py --configs gthread:2x4 --repeats 1 --duration 5   # quick look
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

DEFAULT_CONFIGS = "sync:4,gthread:2x8,gthread:4x4"


def measure_config(config: c.ServerConfig, *, duration: float, repeats: int, rate_duration: float,
                   connections: int, celery_concurrency: int, blocks: c.PhoneBlocks, tag: str = "api",
                   log=print) -> dict:
    """Peak /date and requestSmsCode (interleaved, `repeats` times), then constant rate at half peak."""
    c.clear_limit_keys()
    c.clear_queue()
    runs = {"date": [], "request_sms_code": [], "half_peak": []}
    with c.running_stack(config, celery_concurrency=celery_concurrency, tag=tag) as stack:
        for i in range(repeats):
            meter = c.CpuMeter(stack).start()
            date = c.run_wrk(stack.api("date"), "date.lua", duration, connections)
            date["cpu"] = meter.stop(date["requests"])
            runs["date"].append(date)
            log(f"  [{config.name}] run {i + 1}/{repeats} /date: {date['ok_rps']:,.0f} rps"
                f" ({date['non200']} non-200, socket errors {sum(date['socket_errors'].values())})")

            since = c.max_message_id()
            meter = c.CpuMeter(stack).start()
            whole = c.CpuMeter(stack).start()  # load and drain: the worker's full cost of these messages
            rsc = c.run_wrk(stack.api("requestSmsCode"), "request_sms_code.lua", duration, connections,
                            args=(blocks.take(), c.BENCH_APP_ID, c.sign_header()))
            rsc["cpu"] = meter.stop(rsc["requests"])
            rsc["delivery"] = c.wait_drained(since)
            rsc["cpu_load_and_drain"] = whole.stop(rsc["delivery"]["accepted"])
            runs["request_sms_code"].append(rsc)
            log(f"  [{config.name}] run {i + 1}/{repeats} requestSmsCode: {rsc['ok_rps']:,.0f} rps"
                f" ({rsc['non200']} non-200 {rsc['non200_by_status'] or ''}, socket errors "
                f"{sum(rsc['socket_errors'].values())}); worker drained {rsc['delivery']['pending_at_end_of_load']}"
                f" left in {rsc['delivery']['drain_seconds']} s")

        peak_date = c.median([r["ok_rps"] for r in runs["date"]])
        peak_rsc = c.median([r["ok_rps"] for r in runs["request_sms_code"]])
        rate = max(1.0, round(peak_rsc / 2, 1))
        for i in range(repeats):
            since = c.max_message_id()
            meter = c.CpuMeter(stack).start()
            half = c.run_open_loop(stack.api("requestSmsCode"), rate, rate_duration, "request_sms_code",
                                   phone_base=blocks.take())
            half["cpu"] = meter.stop(half["measured_requests"])
            half["delivery"] = c.wait_drained(since)
            runs["half_peak"].append(half)
            lat = half["latency_ms"]
            log(f"  [{config.name}] run {i + 1}/{repeats} requestSmsCode at {rate} rps (open loop): "
                f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, {half['non200']} non-200"
                f" {half['by_status'] if half['non200'] else ''}, achieved {half['achieved_rate']} rps")

    c.clear_limit_keys()  # leave no per-number limit keys behind in Redis
    summary = {
        "config": config.name,
        "rps_date": peak_date,
        "rps_request_sms_code": peak_rsc,
        "ratio": peak_rsc / peak_date if peak_date else None,
        "half_peak_rate": rate,
        "p50_ms": c.median([r["latency_ms"]["p50"] for r in runs["half_peak"]]),
        "p99_ms": c.median([r["latency_ms"]["p99"] for r in runs["half_peak"]]),
        "non200": sum(r["non200"] for r in runs["date"] + runs["request_sms_code"] + runs["half_peak"]),
        "socket_errors": sum(sum(r["socket_errors"].values()) for r in runs["date"] + runs["request_sms_code"]),
        "undelivered": sum(r["delivery"]["undelivered_after_drain"]
                           for r in runs["request_sms_code"] + runs["half_peak"]),
        "cpu_ms_per_request_sms_code": _median_cpu(runs["request_sms_code"]),
        "cpu_ms_per_date": _median_cpu(runs["date"]),
        "machine_busy_cores_rsc": c.median([r["cpu"]["machine_busy_cores"] for r in runs["request_sms_code"]]),
        "other_load_cores_rsc": c.median([r["cpu"]["cores"]["everything_else"] + r["cpu"]["cores"]["postgres_other"]
                                          for r in runs["request_sms_code"]]),
    }
    # What the machine could do if our processes had both cores to themselves: 2 cores / CPU per
    # request of our components (the Celery worker's per message, load and drain included). Much less
    # noisy than rps on a shared machine; it ignores waiting, so it is an upper bound.
    celery_ms = c.median([r["cpu_load_and_drain"]["cpu_ms_per_request"]["celery"] for r in runs["request_sms_code"]])
    rsc_cpu, date_cpu = summary["cpu_ms_per_request_sms_code"], summary["cpu_ms_per_date"]
    ours_rsc = sum(rsc_cpu[k] for k in ("gunicorn", "postgres_our_db", "redis", "load_generator")) + celery_ms
    ours_date = sum(date_cpu[k] for k in ("gunicorn", "postgres_our_db", "redis", "load_generator"))
    summary["celery_cpu_ms_per_message"] = celery_ms
    summary["own_cpu_ms_request_sms_code"] = ours_rsc
    summary["own_cpu_ms_date"] = ours_date
    summary["cpu_bound_rps_request_sms_code"] = 2000 / ours_rsc
    summary["cpu_bound_rps_date"] = 2000 / ours_date
    summary["cpu_bound_ratio"] = ours_date / ours_rsc
    summary["budget"] = {
        "ratio_ok": summary["ratio"] is not None and summary["ratio"] >= 0.5,
        "p99_ok": summary["p99_ms"] is not None and summary["p99_ms"] < 50,
    }
    return {"summary": summary, "runs": runs}


def _median_cpu(runs) -> dict:
    keys = runs[0]["cpu"].get("cpu_ms_per_request", {}).keys() if runs else []
    return {k: c.median([r["cpu"]["cpu_ms_per_request"][k] for r in runs]) for k in keys}


SUMMARY_HEADERS = ["config", "rps /date", "rps rSC", "ratio", "half rate", "p50 ms", "p99 ms", "non-200",
                   "budget"]


def summary_row(s: dict, label: str | None = None) -> list:
    verdict = "ok" if s["budget"]["ratio_ok"] and s["budget"]["p99_ok"] else (
        "FAIL " + ",".join(k[:-3] for k, v in s["budget"].items() if not v))
    return [label or s["config"], s["rps_date"], s["rps_request_sms_code"], s["ratio"], s["half_peak_rate"],
            s["p50_ms"], s["p99_ms"], s["non200"] + s["socket_errors"], verdict]


def capacity_table(results: list[dict], label_key="config") -> str:
    rows = []
    for r in results:
        s = r["summary"]
        rows.append([s.get(label_key, s["config"]), s["own_cpu_ms_date"], s["own_cpu_ms_request_sms_code"],
                     s["celery_cpu_ms_per_message"], s["cpu_bound_rps_date"], s["cpu_bound_rps_request_sms_code"],
                     s["cpu_bound_ratio"]])
    return c.table(["sustainable, CPU-bound:", "CPU ms /date", "CPU ms rSC", "of which Celery", "2-core rps /date",
                    "2-core rps rSC", "ratio"], rows)


def cpu_table(results: list[dict], label_key="config") -> str:
    keys = ["gunicorn", "celery", "postgres_our_db", "redis", "load_generator", "postgres_other", "everything_else"]
    rows = []
    for r in results:
        s = r["summary"]
        cpu = s["cpu_ms_per_request_sms_code"]
        rows.append([s.get(label_key, s["config"])] + [cpu.get(k) for k in keys] + [s["machine_busy_cores_rsc"]])
    return c.table(["requestSmsCode, CPU ms/request:"] + keys + ["busy cores"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated (default {DEFAULT_CONFIGS})")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rate-duration", type=float, default=15, help="seconds per constant-rate run (15)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; medians reported (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--celery-concurrency", type=int, default=1, help="Celery worker processes (1)")
    args = parser.parse_args()
    if args.duration > 120 or args.rate_duration > 120 or args.repeats > 10:
        parser.error("bounded: at most 120 s per run and 10 repeats")

    c.stop_on_sigterm()
    c.require_wrk()
    c.ensure_database()
    blocks = c.PhoneBlocks()
    configs = [c.ServerConfig.parse(text) for text in args.configs.split(",")]
    info = c.machine_info()
    print(f"API benchmark: {', '.join(x.name for x in configs)}; {args.repeats} x {args.duration:.0f} s peak, "
          f"{args.repeats} x {args.rate_duration:.0f} s at half peak; load average {info['loadavg_at_start']}")
    results = []
    for config in configs:
        results.append(measure_config(
            config, duration=args.duration, repeats=args.repeats, rate_duration=args.rate_duration,
            connections=args.connections, celery_concurrency=args.celery_concurrency, blocks=blocks,
        ))
    print()
    print(c.table(SUMMARY_HEADERS, [summary_row(r["summary"]) for r in results]))
    print()
    print(cpu_table(results))
    print()
    print(capacity_table(results))
    print("\nBudget: rps rSC >= 0.5 x rps /date, p99 < 50 ms at half of rSC's peak. Medians of "
          f"{args.repeats} runs; the machine is shared, so compare 'busy cores' and 'everything_else'.")
    path = c.write_result("api", {"args": vars(args), "machine": info, "results": results})
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
