"""Billing's cost on the hot path (issue 16): requestSmsCode's peak throughput with billing on versus
off, one account sending from every connection, in one run.

The bench app's account is recharged with far more than the run can spend (and its free quota is
long gone after the first run), so every accepted message is charged from the balance: the case a
single hot account row would serialise. The two modes are separate server starts
(`BILLING_ENABLED=true|false`), interleaved off, on, off, on, ...; the table shows medians and the
ratio on/off of rps and of CPU per request. Budget: within 10% (ratio >= 0.9).

    .venv/bin/python bench/billing.py                       # gthread:2x8, 3 repeats of 10 s, ~4 min
    .venv/bin/python bench/billing.py --repeats 1 --duration 5
"""
import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

OURS = ("gunicorn", "postgres_our_db", "redis", "load_generator")


def fund_bench_account() -> None:
    """The bench app's account gets plenty of balance, through the ledger as an operator would."""
    code = (
        "from accounts.models import App\n"
        "from accounts.selectors import balances\n"
        "from accounts.services import money\n"
        f"account = App.objects.get(app_id={c.BENCH_APP_ID!r}).account\n"
        "if balances(account.pk).balance < 10**8:\n"
        "    money.recharge(account=account, amount=10**9, reason='benchmark')\n"
    )
    subprocess.run([c.PYTHON, "manage.py", "shell", "-c", code], cwd=c.ROOT, env=c.service_env(), check=True,
                   timeout=120)


def one_run(config, *, billing: bool, duration: float, connections: int, blocks, log) -> dict:
    c.clear_limit_keys()
    c.clear_queue()
    tag = f"billing-{'on' if billing else 'off'}"
    with c.running_stack(config, tag=tag, extra_env={"BILLING_ENABLED": str(billing).lower()}) as stack:
        since = c.max_message_id()
        meter = c.CpuMeter(stack).start()
        result = c.run_wrk(stack.api("requestSmsCode"), "request_sms_code.lua", duration, connections,
                           args=(blocks.take(), c.BENCH_APP_ID, c.sign_header()))
        result["cpu"] = meter.stop(result["requests"])
        result["delivery"] = c.wait_drained(since)
    per_request = result["cpu"].get("cpu_ms_per_request", {})
    result["own_cpu_ms"] = sum(per_request.get(k, 0.0) for k in OURS)
    log(f"  billing {'on ' if billing else 'off'}: {result['ok_rps']:,.0f} rps, {result['non200']} non-200 "
        f"{result['non200_by_status'] or ''}, CPU {result['own_cpu_ms']:.2f} ms/request (ours), "
        f"others {result['cpu']['cores'].get('everything_else', 0):.2f} cores")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="gthread:2x8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    c.stop_on_sigterm()
    c.require_wrk()
    c.ensure_database()
    fund_bench_account()
    config = c.ServerConfig.parse(args.config)
    blocks = c.PhoneBlocks()
    runs = {"off": [], "on": []}
    print(f"requestSmsCode, {config.name}, {args.connections} connections, {args.duration:g} s per run, "
          f"{args.repeats} repeats, one account")
    for i in range(args.repeats):
        for mode in ("off", "on"):
            runs[mode].append(one_run(config, billing=mode == "on", duration=args.duration,
                                      connections=args.connections, blocks=blocks, log=print))
    summary = {}
    for mode in ("off", "on"):
        summary[mode] = {
            "rps": c.median([r["ok_rps"] for r in runs[mode]]),
            "cpu_ms": c.median([r["own_cpu_ms"] for r in runs[mode]]),
            "non200": sum(r["non200"] for r in runs[mode]),
            "undelivered": sum(r["delivery"].get("undelivered_after_drain", 0) for r in runs[mode]),
        }
    summary["rps_ratio"] = summary["on"]["rps"] / summary["off"]["rps"]
    summary["cpu_ratio"] = summary["on"]["cpu_ms"] / summary["off"]["cpu_ms"]
    summary["budget_ok"] = summary["rps_ratio"] >= 0.9
    print()
    print(c.table(["billing", "rps (median)", "CPU ms/request (ours)", "non-200", "undelivered"],
                  [[m, summary[m]["rps"], summary[m]["cpu_ms"], summary[m]["non200"], summary[m]["undelivered"]]
                   for m in ("off", "on")]))
    print(f"\non/off: rps x{summary['rps_ratio']:.3f}, CPU per request x{summary['cpu_ratio']:.3f}"
          f" -> budget (rps within 10%): {'met' if summary['budget_ok'] else 'MISSED'}")
    path = c.write_result("billing", {"machine": c.machine_info(), "args": vars(args), "summary": summary,
                                      "runs": runs})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
