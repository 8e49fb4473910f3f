"""Slow clients are bounded: a head that never comes or trickles is cut off (the connection
closed), a body that stalls or trickles is cut off with 408, and the connections served
at once are capped (the next one is answered 503 and dropped)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pipeline.service import JobService
from pipeline.waiting import wait_until
from ui.app import create_app
from ui.server import RunningServer, start_in_thread

HEAD = (
    "POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 100\r\n\r\n"
)


def _serve(service: JobService, body_timeout: float, max_connections: int) -> RunningServer:
    return start_in_thread(
        service,
        app_factory=lambda s: create_app(s, body_timeout=body_timeout),
        max_connections=max_connections,
        head_timeout=body_timeout,
    )


@pytest.fixture
def quick(service: JobService) -> Iterator[RunningServer]:
    """Function: a live server whose bodies must arrive within 0.5 s."""
    running = _serve(service, body_timeout=0.5, max_connections=10)
    yield running
    running.stop(timeout=5)


def _connect(running: RunningServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    sock.settimeout(10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_body_stopping_short_of_its_length_gets_408_and_the_connection_dropped(
    quick: RunningServer,
) -> None:
    # Slip: no read deadline on the body (the server waits for the missing bytes for ever).
    with _connect(quick) as sock:
        started = time.monotonic()
        sock.sendall(HEAD.encode() + b'{"url": "https://media.example/')
        answer = _answer(sock)  # returns only once the server closes the connection
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 0.5 s" in answer
    assert b"content-security-policy" in answer.lower()  # the policy on every answer
    assert 0.5 <= took < 5


def test_a_trickling_body_is_cut_off_at_the_same_deadline(quick: RunningServer) -> None:
    sock = _connect(quick)
    sock.sendall(HEAD.encode())
    body = b'{"url": "https://media.example/a.mp3"}'.ljust(100)
    stop = threading.Event()

    def trickle() -> None:  # the hostile client: one byte every 0.1 s (10 s in all)
        for byte in body:
            if stop.wait(0.1):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    started = time.monotonic()
    try:
        try:
            answer = _answer(sock)
        except ConnectionResetError:
            # The server closed while bytes were still arriving: the kernel resets the
            # connection, and may drop the 408 it had sent before the client read it.
            answer = b"(reset)"
    finally:
        stop.set()
        sender.join(5)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 ") or answer == b"(reset)", answer[:200]
    assert time.monotonic() - started < 5  # cut off at the deadline, not after 10 s of bytes


def test_a_whole_body_in_time_is_served(quick: RunningServer) -> None:
    with httpx.Client(base_url=quick.url) as http:
        made = http.post("/api/jobs", json={"url": "https://media.example/a.mp3"})
    assert made.status_code == 202


def test_connections_beyond_the_cap_are_refused_until_one_closes(service: JobService) -> None:
    # Slip: no limit_concurrency (each stalled upload holds a connection, with no bound).
    running = _serve(service, body_timeout=30, max_connections=2)
    stalled = [_connect(running) for _ in range(2)]
    try:
        for sock in stalled:
            sock.sendall(HEAD.encode() + b"{")
        with httpx.Client(base_url=running.url, timeout=5) as http:
            # Both stalled uploads reached the app; one more connection is one too many.
            refused = http.get("/api/ping")
            assert refused.status_code == 503
            assert refused.headers["connection"] == "close"
            stalled.pop().close()
            wait_until(
                lambda: http.get("/api/ping").status_code == 200,
                timeout=10,
                what="a freed connection to be served",
            )
    finally:
        for sock in stalled:
            sock.close()
        running.stop(timeout=5)


@pytest.mark.parametrize("sends", ["nothing", "a trickle of headers", "one request, then nothing"])
def test_a_connection_whose_next_request_head_is_late_is_closed(
    quick: RunningServer, sends: str
) -> None:
    # Slip: no deadline on a request's head: a socket sending nothing, or one header line
    # a second, kept its place among the capped connections for ever (slowloris).
    with _connect(quick) as sock:
        started = time.monotonic()
        if sends == "one request, then nothing":
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200"), first
            started = time.monotonic()
        stop = threading.Event()

        def trickle() -> None:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.wait(0.1):
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    return

        feeder = threading.Thread(target=trickle, daemon=True)
        if sends == "a trickle of headers":
            feeder.start()
        try:
            assert _answer(sock) == b""  # closed, with no answer to a head never finished
        finally:
            stop.set()
        took = time.monotonic() - started
        assert took < 5, took  # the 0.5 s deadline, not the 10 s socket timeout


def test_a_request_whose_head_arrives_in_time_is_answered(quick: RunningServer) -> None:
    with httpx.Client(base_url=quick.url) as http:
        for _ in range(3):  # kept alive: each head on the same connection is in time
            assert http.get("/healthz").status_code == 200
