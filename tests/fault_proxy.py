"""A fault-injecting HTTP reverse proxy on loopback, in front of the test S3 server.

Requests are forwarded with every header unchanged (Host included, so SigV4 signatures made
for the proxy's address stay valid) unless a fault rule matches: then the proxy answers
503 SlowDown with S3's XML error body, cuts the connection without a response, or sends the
response head and half the body before cutting. Rules are decided per request, by method and
path substring, deterministically: the first N matching requests (or the first N of each path),
every k-th, or all.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Action = Literal["503", "cut", "truncate"]
CHUNK = 64 * 1024
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    b"<RequestId>FAULTPROXY</RequestId><HostId>fault-proxy</HostId></Error>"
)
# Hop-by-hop headers of the upstream response: the proxy frames its own response.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}


@dataclass
class Fault:
    """A fault rule: which requests it matches and which of them it breaks, and how."""

    action: Action
    method: str | None = None
    path: str = ""
    first: int = 0
    every: int = 0
    always: bool = False
    per_path: bool = False
    matched: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)
    _paths: Counter[str] = field(default_factory=Counter, init=False, repr=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether the request is one this rule is about."""
        return (self.method is None or self.method == method) and self.path in path

    def strikes(self, path: str) -> bool:
        """Count one more matching request, and say whether this one is broken."""
        self.matched += 1
        self._paths[path] += 1
        n = self._paths[path] if self.per_path else self.matched
        hit = self.always or n <= self.first or (self.every > 0 and n % self.every == 0)
        self.injected += hit
        return hit


@dataclass(frozen=True)
class Seen:
    """One request the proxy received, and what it did with it."""

    method: str
    path: str
    outcome: str


class FaultProxy:
    """The proxy: start it, point clients at url, set faults, read what it saw, stop it."""

    def __init__(self, upstream: str) -> None:
        """A proxy (not yet started) forwarding to the upstream http://host:port."""
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seen: list[Seen] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open client connections and wait for every handler thread."""
        self._server.shutdown()
        self._server.cut_all()
        self._server.server_close()
        self._thread.join(timeout=10)

    def alive(self) -> bool:
        """Whether the proxy still serves."""
        return self._thread.is_alive()

    def set_faults(self, *faults: Fault) -> None:
        """Replace the fault rules (none: forward everything)."""
        with self._lock:
            self._faults = list(faults)

    def decide(self, method: str, path: str) -> Action | None:
        """The fault of the first rule matching the request, if it strikes this time."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    return fault.action if fault.strikes(path) else None
        return None

    def record(self, method: str, path: str, outcome: str) -> None:
        """Remember one request and its outcome ("forwarded", "503", "cut", "truncate")."""
        with self._lock:
            self._seen.append(Seen(method, path, outcome))

    def count(self, method: str | None = None, path: str = "", outcome: str | None = None) -> int:
        """How many requests seen so far match the method, path substring and outcome."""
        with self._lock:
            return sum(
                (method is None or s.method == method)
                and path in s.path
                and (outcome is None or s.outcome == outcome)
                for s in self._seen
            )

    def reset_counts(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._seen.clear()


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its client sockets, to cut them at stop."""

    daemon_threads = False  # handler threads are joined by server_close
    proxy: FaultProxy

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        """Bind the address; no client connection yet."""
        super().__init__(address, handler)
        self.clients: set[socket.socket] = set()
        self.clients_lock = threading.Lock()

    def cut_all(self) -> None:
        """Shut down every open client connection, so idle keep-alive handlers return."""
        with self.clients_lock:
            for sock in self.clients:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """One client connection: each request is faulted or forwarded upstream."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a response head and body in two writes must not wait 40 ms
    timeout = 30
    server: _Server

    def setup(self) -> None:
        """Register the connection with the server."""
        super().setup()
        with self.server.clients_lock:
            self.server.clients.add(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        with self.server.clients_lock:
            self.server.clients.discard(self.connection)
        with suppress(OSError):  # the client may have gone already
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        """Handle a GET."""
        self._handle()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _handle(self) -> None:
        """Fault or forward the request just read."""
        proxy = self.server.proxy
        action = proxy.decide(self.command, self.path)
        if action == "cut":
            proxy.record(self.command, self.path, "cut")
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if action == "503":
            self.rfile.read(length)
            proxy.record(self.command, self.path, "503")
            self._slow_down()
            return
        try:
            upstream = self._forward(length)
        except OSError:
            proxy.record(self.command, self.path, "upstream down")
            self.send_error(502, "upstream unreachable")
            return
        try:
            proxy.record(self.command, self.path, action or "forwarded")
            self._relay(upstream, truncate=action == "truncate")
        finally:
            upstream.close()

    def _slow_down(self) -> None:
        """Answer as S3 does when throttling."""
        self.send_response_only(503, "Slow Down")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SLOW_DOWN)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(SLOW_DOWN)

    def _forward(self, length: int) -> http.client.HTTPResponse:
        """Send the request upstream with its headers untouched, streaming its body."""
        conn = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=30)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        while length > 0:
            chunk = self.rfile.read(min(CHUNK, length))
            if not chunk:
                break
            conn.send(chunk)
            length -= len(chunk)
        return conn.getresponse()

    def _relay(self, upstream: http.client.HTTPResponse, truncate: bool) -> None:
        """Stream the upstream response back; when truncating, cut it after half the body."""
        self.send_response_only(upstream.status, upstream.reason)
        for name, value in upstream.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        length = upstream.getheader("Content-Length")
        chunked = length is None and self.command != "HEAD" and upstream.status not in (204, 304)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if truncate:
            self.wfile.write(upstream.read(int(length or 0) // 2))
            self.wfile.flush()
            self.close_connection = True
            return
        for chunk in _chunks(upstream):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def _chunks(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The response body, piece by piece."""
    while chunk := response.read(CHUNK):
        yield chunk


@contextmanager
def running(upstream: str) -> Iterator[FaultProxy]:
    """A started proxy in front of upstream, stopped on exit."""
    proxy = FaultProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
