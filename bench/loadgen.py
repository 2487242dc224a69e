"""Open-loop, constant-rate HTTP load: request i is due at t0 + i/rate whether or not earlier ones
have been answered (wrk is closed-loop: a slow server slows wrk down and hides its own queueing,
"coordinated omission"). Latency is measured from the time a request was DUE, so time spent waiting
for a free connection or for the event loop counts against the server, as a real client would see it.

Plain asyncio streams and hand-written HTTP/1.1 (keep-alive when the server allows it, a new
connection when it answers `Connection: close`, as gunicorn's sync workers do), no dependency.
Run alone: python bench/loadgen.py --url http://127.0.0.1:8000/1.1/date --rate 200 --duration 10
"""
import argparse
import asyncio
import json
import time
from urllib.parse import urlparse


# gunicorn closes a keep-alive connection idle for --keep-alive seconds (2 by default): reusing one
# idle for longer races with that close, an error no real client would report as the server's.
IDLE_REUSE_SECONDS = 1.0


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Client:
    def __init__(self, url: str, kind: str, app_id: str, sign: str, phone_base: int, max_connections: int):
        parsed = urlparse(url)
        self.host, self.port, self.path = parsed.hostname, parsed.port or 80, parsed.path or "/"
        self.kind = kind
        self.app_id, self.sign, self.phone_base = app_id, sign, phone_base
        self.idle: list = []
        self.open_connections = 0
        self.max_connections = max_connections
        self.slot = asyncio.Semaphore(max_connections)
        self.errors: dict[str, int] = {}

    def request_bytes(self, i: int) -> bytes:
        if self.kind == "date":
            return (f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n").encode()
        body = f'{{"mobilePhoneNumber":"+86186{(self.phone_base + i) % 100000000:08d}"}}'.encode()
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nX-LC-Id: {self.app_id}\r\nX-LC-Sign: {self.sign}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    async def once(self, i: int) -> tuple[int, float]:
        """Send request i; its status and the time its answer was complete."""
        async with self.slot:
            reader = writer = None
            while self.idle:  # the most recently used first; drop any the server may have timed out
                reader, writer, last_used = self.idle.pop()
                if time.perf_counter() - last_used < IDLE_REUSE_SECONDS:
                    break
                writer.close()
                reader = writer = None
            if writer is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            sent = time.perf_counter()
            try:
                writer.write(self.request_bytes(i))
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                length, close = 0, False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                if length:
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                writer.close()
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                return -1, time.perf_counter(), sent
            done = time.perf_counter()
            if close:
                writer.close()
            else:
                self.idle.append((reader, writer, done))
            return status, done, sent


async def run(args) -> dict:
    client = Client(args.url, args.kind, args.app_id, args.sign, args.phone_base, args.max_connections)
    rate = args.rate
    total = int(rate * (args.warmup + args.duration))
    warm = int(rate * args.warmup)
    results = [None] * total
    lateness = []  # how late the generator itself issued requests (its own health)

    async def one(i, due):
        try:
            status, done, sent = await asyncio.wait_for(client.once(i), timeout=args.timeout)
            results[i] = (status, done - due, done - sent)
        except asyncio.TimeoutError:
            results[i] = (-2, args.timeout, args.timeout)

    tasks = []
    t0 = time.perf_counter() + 0.05
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(time.perf_counter() - due)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0

    measured = [r for r in results[warm:] if r is not None]
    statuses: dict[str, int] = {}
    for status, _, _ in measured:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    ok = sorted(r[1] * 1000 for r in measured if r[0] == 200)
    service = sorted(r[2] * 1000 for r in measured if r[0] == 200)
    late = sorted(x * 1000 for x in lateness[warm:])
    return {
        "kind": args.kind,
        "target_rate": rate,
        "achieved_rate": round(total / elapsed, 1),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "measured_requests": len(measured),
        "ok200": sum(1 for r in measured if r[0] == 200),
        "non200": sum(1 for r in measured if r[0] != 200),
        "by_status": statuses,  # -1: connection error, -2: timeout
        "connection_errors": client.errors,
        "latency_ms": {  # from the time each request was due (open-loop)
            "p50": percentile(ok, 50), "p90": percentile(ok, 90), "p99": percentile(ok, 99),
            "p999": percentile(ok, 99.9), "max": ok[-1] if ok else None,
        },
        "service_ms": {  # from the time each request was actually written
            "p50": percentile(service, 50), "p99": percentile(service, 99),
        },
        "generator_lateness_ms": {"p50": percentile(late, 50), "p99": percentile(late, 99),
                                  "max": late[-1] if late else None},
        "connections_opened_max": args.max_connections,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds (after warm-up)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds sent but not measured")
    parser.add_argument("--kind", choices=["date", "request_sms_code"], default="date")
    parser.add_argument("--app-id", default="")
    parser.add_argument("--sign", default="")
    parser.add_argument("--phone-base", type=int, default=0)
    parser.add_argument("--max-connections", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--out", help="write the JSON result here (else print it)")
    args = parser.parse_args()
    if args.duration * args.rate > 200_000 or args.duration > 300:
        parser.error("bounded: at most 300 s and 200,000 requests per run")
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
