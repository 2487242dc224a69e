"""A small threaded HTTP/1.1 server on a free loopback port, the footing of the fake carriers.

Each request is read whole and recorded, then answered by `app.answer(request)`, unless the server
is told to misbehave after reading it:
  - mode "hang":  never answer (the client's read timeout fires); released when the server stops;
  - mode "reset": close the connection with a TCP reset (the client sees "connection reset");
  - `delay`:      wait that long before answering (to see requests overlap).
It counts requests being handled at once (`max_active`) and TCP connections opened (`connections`).
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    method: str
    path: str                       # without the query
    query: list[tuple[str, str]]    # in order, decoded
    raw_query: str
    headers: dict[str, str]         # names lowercased
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class FakeHttpServer:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.mode = "answer"
        self.delay = 0.0
        self.active = 0
        self.max_active = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # the fake carrier's own logic
    def answer(self, request: Recorded) -> Answer:
        raise NotImplementedError

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeHttpServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command, path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True), raw_query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                )
                with fake._lock:
                    fake.requests.append(recorded)
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                try:
                    if fake.mode == "hang":
                        fake._release.wait(60)
                        self.close_connection = True
                        return
                    if fake.mode == "reset":
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                        return
                    if fake.delay:
                        time.sleep(fake.delay)
                    answer = fake.answer(recorded)
                finally:
                    with fake._lock:
                        fake.active -= 1
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-carrier", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # socketserver's 5 would drop the SYNs of a burst of connections


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Unaccepting:
    """A listening socket whose backlog is full: a new connection's SYN is dropped, so connecting
    times out (the connect timeout, not the read timeout)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(filler)
        time.sleep(0.05)

    def close(self):
        for filler in self.fillers:
            filler.close()
        self.sock.close()
