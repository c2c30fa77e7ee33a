"""Real HTTP servers on loopback addresses for the fetching tests and benchmarks: one `Site`
per 127.0.0.x address (several addresses make several hosts), each path answered by a
`Page` (status, headers, body) or by a function that writes the answer itself (a server that
hangs, trickles, or lies about its length). Every request is recorded with its headers."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answered 304 when If-None-Match matches
    gzip_always: bool = False  # gzip the body whatever the request asked


Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


class Site:
    def __init__(self, host: str = "127.0.0.1", latency: float = 0.0):
        self.routes: dict[str, Page | Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.latency = latency
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with site._lock:
                    site.requests.append((self.path, dict(self.headers)))
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                try:
                    if site.latency:
                        time.sleep(site.latency)
                    route = site.routes.get(self.path)
                    if route is None:
                        self._send(Page(b"not here", 404))
                    elif isinstance(route, Page):
                        self._send(route)
                    else:
                        route(self)
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def _send(self, page: Page) -> None:
                if page.etag and self.headers.get("If-None-Match") == page.etag:
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = page.body
                self.send_response(page.status)
                for k, v in page.headers.items():
                    self.send_header(k, v)
                if page.etag:
                    self.send_header("ETag", page.etag)
                if page.gzip_always:
                    body = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server((host, 0), Handler)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def asked(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def redirect(code: int, to: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route answering `code` with Location `to`."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def hang(handler: BaseHTTPRequestHandler) -> None:
    """Accept, read the request, answer nothing for a minute."""
    time.sleep(60)


def trickle(handler: BaseHTTPRequestHandler) -> None:
    """A valid start, then one byte a second for a minute."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    try:
        for _ in range(60):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass


def loopback_hosts(n: int) -> list[str]:
    """n loopback addresses that can be bound here (127.0.0.2, 127.0.0.3, ...)."""
    out = []
    for i in range(2, 250):
        host = f"127.0.0.{i}"
        try:
            with socket.socket() as s:
                s.bind((host, 0))
        except OSError:
            continue
        out.append(host)
        if len(out) == n:
            break
    return out
