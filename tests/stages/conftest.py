"""Local HTTP servers for the stage tests: media, redirects, oversize, slow and stalled bodies."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from pipeline.assets import sample_path

ENDLESS_TOTAL = 256 * 1024 * 1024
SECRET_BODY = b"TOP-SECRET-UPSTREAM-BODY"


@dataclass
class ServerState:
    """What the server saw and did; read by tests after waiting on ``finished``."""

    sample: bytes
    stop: threading.Event = field(default_factory=threading.Event)
    hits: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    finished: dict[str, threading.Event] = field(default_factory=dict)

    def done(self, route: str) -> threading.Event:
        return self.finished.setdefault(route, threading.Event())


class _Server(ThreadingHTTPServer):
    # Join handler threads on close so no socket outlives the test.
    daemon_threads = False
    block_on_close = True
    state: ServerState


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        state.hits.append(parts.path)
        state.hosts.append(self.headers.get("Host", ""))
        route = _ROUTES.get(parts.path.split("/")[1] if "/" in parts.path else "")
        if route is None:
            self._reply(404, b"no such route")
            return
        route(self, parts.path, parse_qs(parts.query))

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream(self, route: str, piece: bytes, limit: int, pause: float = 0.0) -> None:
        """Send ``piece`` repeatedly (no length declared) until ``limit`` or the client leaves."""
        state = self.server.state
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        sent = 0
        try:
            while sent < limit and not state.stop.is_set():
                self.wfile.write(piece)
                sent += len(piece)
                if pause:
                    state.stop.wait(pause)
        except OSError:
            pass
        finally:
            state.sent[route] = sent
            state.done(route).set()


def _sample(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h._reply(200, h.server.state.sample, "audio/ogg")


def _blob(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    size = int(path.split("/")[2])
    h._reply(200, bytes(i % 251 for i in range(size)), "application/octet-stream")


def _hop(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    left = int(path.split("/")[2])
    if left == 0:
        _sample(h, path, query)
    else:
        h._redirect(f"/hop/{left - 1}/sample.ogg")


def _away(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h._redirect(query["to"][0], int(query.get("status", ["302"])[0]))


def _endless(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h._stream("endless", b"\x00" * 65536, ENDLESS_TOTAL)


def _trickle(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h._stream("trickle", b"x" * 512, ENDLESS_TOTAL, pause=0.02)


def _stall(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.server.state.stop.wait(30)


def _declared_huge(h: _Handler, path: str, query: dict[str, list[str]]) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(10**12))
    h.end_headers()


_ROUTES: dict[str, Callable[[_Handler, str, dict[str, list[str]]], None]] = {
    "sample.ogg": _sample,
    "blob": _blob,
    "hop": _hop,
    "loop": lambda h, p, q: h._redirect("/loop"),
    "away": _away,
    "no-location": lambda h, p, q: h._redirect(""),
    "secret-404": lambda h, p, q: h._reply(404, SECRET_BODY),
    "secret-500": lambda h, p, q: h._reply(500, SECRET_BODY),
    "endless": _endless,
    "trickle": _trickle,
    "stall": _stall,
    "declared-huge": _declared_huge,
    "gzipped": lambda h, p, q: _gzipped(h),
}


def _gzipped(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", "4")
    h.end_headers()
    h.wfile.write(b"\x1f\x8b\x08\x00")


@dataclass(frozen=True)
class MediaServer:
    """A running test server on 127.0.0.1."""

    port: int
    state: ServerState

    @property
    def netloc(self) -> str:
        """``127.0.0.1:PORT``, the entry to put in ``allow_hosts``."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """Absolute URL of ``path`` on this server, spelled with ``host``."""
        return f"http://{host}:{self.port}{path}"


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[MediaServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.state = ServerState(sample=sample_path().read_bytes())
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="media-server", daemon=True
    )
    thread.start()
    try:
        yield MediaServer(server.server_address[1], server.state)
    finally:
        server.state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    """A media server on a free 127.0.0.1 port; stopped and closed (threads joined) after."""
    yield from _serve()


@pytest.fixture
def internal_server() -> Iterator[MediaServer]:
    """A second server standing for an internal service that must never be reached."""
    yield from _serve()


TLS_HOST = "media.jobstate.test"


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A throwaway certificate authority; clients trust it through ``tls_ca.configure_trust``."""
    return trustme.CA()


@pytest.fixture
def tls_server(tls_ca: trustme.CA) -> Iterator[MediaServer]:
    """A media server on 127.0.0.1 speaking TLS with a certificate for ``TLS_HOST`` only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert(TLS_HOST).configure_cert(context)
    yield from _serve(context)
