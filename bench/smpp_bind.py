"""SMPP throughput: the bind (sms/carriers/smpp) against the stand-in SMSC (tests/smsc.py), two processes.

    /work/main/.venv/bin/python bench/smpp_bind.py              # about 10 s
    /work/main/.venv/bin/python bench/smpp_bind.py --messages 20000 --windows 10 50

The stand-in runs as ``python -m tests.smsc`` in its own process; this process is the client. A message
is counted when its whole round trip is done: submit_sm -> submit_sm_resp -> deliver_sm (receipt) ->
deliver_sm_resp. "msg/s" is messages over wall time from the first submit to the last receipt in the
callback. "SMSC CPU" is the stand-in process's user+system CPU time for the run (from /proc), so
"SMSC msg per CPU-s" is what the stand-in does on one core.

Rows:
* ``raw``: a minimal pipelined client (pre-built PDUs, struct, one thread), to load the stand-in.
* ``bind wN``: SmppBind with window N; one thread calls submit() with batches of 500 messages (the
  delivery worker's shape), receipts counted in the on_receipts callback.
* ``bind wN x2``: two threads submitting at once on the same bind.

Result on this machine (2 cores shared with other work, load average ~1; 1-part Latin text of 59
characters; two consecutive runs of this script):

    client        window  messages  seconds   msg/s  SMSC CPU s  SMSC msg per CPU-s
    raw              100     30000     0.57   52419        0.52               57692
    bind w1            1      2000     0.84    2368        0.23                8696
    bind w10          10     10000     2.08    4819        0.33               30303
    bind w50          50     10000     1.97    5078        0.29               34483
    bind w10 x2       10     10000     2.04    4905        0.33               30303

    raw              100     30000     0.74   40607        0.67               44776
    bind w1            1      2000     0.99    2018        0.25                8000
    bind w10          10     10000     2.10    4770        0.39               25641
    bind w50          50     10000     1.87    5356        0.29               34483
    bind w10 x2       10     10000     1.93    5173        0.31               32258

Later runs while other engineers' processes took a core and more (node + 3 python at 60-80% CPU)
gave raw 24,000-25,000 msg/s (43,000-52,000 per stand-in CPU-second), bind w10 2,500-3,400,
w50 3,300-4,400, w10 x2 ~3,900: the bind is CPU-bound, so it follows the CPU it gets.

So the stand-in does 40,000-50,000 full round trips a second on one core (the 5,000 required is
well exceeded). The bind does ~4,800 messages/s with window 10 and ~5,000-5,400 with window 50: it is
bound by its own CPU (about 170 us of Python per message, measured with process_time; smpplib
builds and parses every PDU: ~50 us per submit_sm built, ~40 us per deliver_sm parsed), not by the
window, on loopback. With window 1 every message waits for a full round trip. Against a real
carrier 30-100 ms away, throughput is about window / RTT (10 / 50 ms = 200/s), so there the window
(and how many binds the carrier allows) is what matters.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# sms/carriers/__init__.py imports the Django models; the bind itself needs nothing from Django.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
import django  # noqa: E402

django.setup()

from sms.carriers.smpp import SmppBind, SmppMessage  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
TEXT = "Your verification code is 123456. It expires in 10 minutes."


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


class StandIn:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.smsc", "--port", "0", "--no-keep-received", "--credentials", "smsp:secret"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        self.port = json.loads(line)["port"]

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> dict:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        return json.loads(out.strip().splitlines()[-1])


# -------------------------------------------------------------------- the raw client

def _pdu(command_id, seq, body=b""):
    return struct.pack(">LLLL", 16 + len(body), command_id, 0, seq) + body


def raw_run(port: int, messages: int, window: int) -> float:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(_pdu(0x09, 1, b"smsp\x00secret\x00\x00\x34\x00\x00\x00"))
    header = sock.recv(16)
    length, _, status, _ = struct.unpack(">LLLL", header)
    sock.recv(length - 16)
    assert status == 0, status
    text = TEXT.encode()
    body_head = b"\x00\x05\x00Brand\x00\x01\x01"
    # esm_class, protocol_id, priority, schedule, validity, registered_delivery=1, replace, data_coding,
    # sm_default_msg_id, sm_length, short_message
    body_tail = b"\x00\x00\x00\x00\x00\x01\x00\x00\x00" + bytes([len(text)]) + text
    pdus = [_pdu(0x04, i + 2, body_head + f"86138{i:08d}".encode() + b"\x00" + body_tail) for i in range(messages)]
    sent = answered = receipts = 0
    buf = bytearray()
    started = time.perf_counter()
    while receipts < messages:
        if sent < messages and sent - answered < window:
            n = min(window - (sent - answered), messages - sent)
            sock.sendall(b"".join(pdus[sent:sent + n]))
            sent += n
        data = sock.recv(1 << 18)
        if not data:
            raise RuntimeError("stand-in closed the connection")
        buf += data
        pos = 0
        out = []
        while len(buf) - pos >= 16:
            length, command_id, status, seq = struct.unpack_from(">LLLL", buf, pos)
            if len(buf) - pos < length:
                break
            pos += length
            if command_id == 0x80000004:
                answered += 1
            elif command_id == 0x05:
                receipts += 1
                out.append(struct.pack(">LLLLB", 17, 0x80000005, 0, seq, 0))
        del buf[:pos]
        if out:
            sock.sendall(b"".join(out))
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed


# -------------------------------------------------------------------- the bind

def bind_run(port: int, messages: int, window: int, threads: int = 1, batch: int = 500) -> float:
    done = threading.Event()
    count = [0]
    lock = threading.Lock()

    def on_receipts(receipts):
        with lock:
            count[0] += len(receipts)
            if count[0] >= messages:
                done.set()

    bind = SmppBind("127.0.0.1", port, "smsp", "secret", source_addr="Brand", window=window,
                    on_receipts=on_receipts)
    bind.start()
    assert bind.wait_bound(5), bind.last_error
    items = [SmppMessage(i, f"+86138{i:08d}", TEXT) for i in range(messages)]
    share = [items[t::threads] for t in range(threads)]
    failures = []

    def worker(mine):
        for start in range(0, len(mine), batch):
            results = bind.submit(mine[start:start + batch])
            failures.extend(r for r in results if not r.accepted)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(s,)) for s in share]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if not done.wait(30):
        raise RuntimeError(f"only {count[0]} receipts of {messages}")
    elapsed = time.perf_counter() - started
    bind.close()
    assert not failures, failures[:3]
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--raw-messages", type=int, default=30000)
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()

    standin = StandIn()
    rows = []
    try:
        def measure(name, window, messages, run):
            before = standin.cpu()
            seconds = run()
            cpu = standin.cpu() - before
            rows.append((name, window, messages, seconds, messages / seconds, cpu, messages / cpu if cpu else 0))

        measure("raw", 100, args.raw_messages, lambda: raw_run(standin.port, args.raw_messages, 100))
        for window in args.windows:
            n = min(args.messages, 2000) if window == 1 else args.messages
            measure(f"bind w{window}", window, n, lambda: bind_run(standin.port, n, window))
        window = 10 if 10 in args.windows else args.windows[-1]
        measure(f"bind w{window} x2", window, args.messages,
                lambda: bind_run(standin.port, args.messages, window, threads=2))
    finally:
        stopped = standin.stop()
    print(f"{'client':<13} {'window':>6} {'messages':>9} {'seconds':>8} {'msg/s':>7} {'SMSC CPU s':>11} "
          f"{'SMSC msg per CPU-s':>19}")
    for name, window, messages, seconds, rate, cpu, per_cpu in rows:
        print(f"{name:<13} {window:>6} {messages:>9} {seconds:>8.2f} {rate:>7.0f} {cpu:>11.2f} {per_cpu:>19.0f}")
    print(f"stand-in totals: {json.dumps(stopped['stats'])}")


if __name__ == "__main__":
    main()
