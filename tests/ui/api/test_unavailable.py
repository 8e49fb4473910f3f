"""A store that cannot answer gives 503 with a JSON body, quickly; never a 500, never a guess."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipeline.live_reads import LiveReads, Poll
from pipeline.procs.redis_server import free_port
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.api.conftest import open_client
from ui.app import create_app
from ui.http_errors import UNAVAILABLE

pytestmark = pytest.mark.anyio


@pytest.fixture
def dead_store() -> Iterator[JobStore]:
    """Function: a JobStore whose Redis port has nothing listening."""
    client = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0), socket_connect_timeout=0.5)
    yield JobStore(client)
    client.close()


@pytest.fixture
def silent_store() -> Iterator[JobStore]:
    """Function: a JobStore on a port that accepts connections and never answers (a Redis
    that stopped answering); the listener is closed at teardown."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = redis.Redis(port=listener.getsockname()[1], retry=Retry(NoBackoff(), 0))
    yield JobStore(client)
    client.close()
    listener.close()


class TimingOut(LiveReads):
    """Reads whose poll fails the way redis-py reports a socket timeout."""

    async def poll(self, job_id: str, held: Any = (), any_held: bool = False) -> Poll:
        raise redis.TimeoutError("Timeout reading from socket")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/jobs/abc"),
        ("GET", "/api/jobs"),
        ("GET", "/api/jobs/abc/history"),
        ("POST", "/api/jobs/abc/retry"),
        ("DELETE", "/api/jobs/abc"),
    ],
)
async def test_unreachable_redis_is_503_with_a_json_body(
    dead_store: JobStore, method: str, path: str
) -> None:
    app = create_app(JobService(dead_store, lambda ctx: None))
    async with await open_client(app) as client:
        response = await client.request(method, path)
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
    assert response.headers["retry-after"] == "1"
    assert response.headers["cache-control"] == "no-store"


async def test_submit_with_unreachable_redis_is_503(dead_store: JobStore) -> None:
    app = create_app(JobService(dead_store, lambda ctx: None))
    async with await open_client(app) as client:
        response = await client.post("/api/jobs", json={"url": "https://media.example/a.mp3"})
    assert response.status_code == 503


async def test_health_is_503_when_redis_is_down(dead_store: JobStore) -> None:
    app = create_app(JobService(dead_store, lambda ctx: None))
    async with await open_client(app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "redis": "down"}


async def test_a_silent_store_answers_503_at_the_deadline(silent_store: JobStore) -> None:
    app = create_app(JobService(silent_store, lambda ctx: None), read_deadline=0.3)
    async with await open_client(app) as client:
        began = time.monotonic()
        response = await client.get("/api/jobs/abc")
        health = await client.get("/healthz")
        took = time.monotonic() - began
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
    assert health.status_code == 503
    assert took < 2.0


async def test_redis_timeout_error_is_503(state_store: JobStore) -> None:
    service = JobService(state_store, lambda ctx: None)
    app = create_app(service, reads=TimingOut(state_store))
    async with await open_client(app) as client:
        response = await client.get("/api/jobs/abc")
    assert response.status_code == 503


async def test_enqueue_failure_is_502_and_the_job_is_marked_failed(
    state_store: JobStore,
) -> None:
    def broken_enqueue(ctx: dict[str, Any]) -> None:
        raise OSError("broker at redis://:secret@broker:6379 refused")

    app = create_app(JobService(state_store, broken_enqueue))
    async with await open_client(app) as client:
        response = await client.post("/api/jobs", json={"url": "https://media.example/a.mp3"})
    assert response.status_code == 502
    assert "secret" not in response.text
    [job] = state_store.list_jobs()
    assert job["status"] == "ERROR"


async def test_unexpected_error_is_a_json_500_with_the_headers(state_store: JobStore) -> None:
    class Broken(LiveReads):
        async def list(self, limit: int = 50) -> list[dict[str, Any]]:
            raise RuntimeError("bug")

    service = JobService(state_store, lambda ctx: None)
    async with await open_client(create_app(service, reads=Broken(state_store))) as client:
        response = await client.get("/api/jobs")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: the server could not answer"}
    assert "script-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/jobs", {"url": "https://media.example/a.mp3"}),
        ("POST", "/api/jobs/abc/retry", None),
        ("DELETE", "/api/jobs/abc", None),
    ],
)
async def test_a_silent_store_answers_a_write_503_at_the_write_deadline(
    silent_store: JobStore, method: str, path: str, body: Any
) -> None:
    """The write runs in a thread that a silent Redis blocks for ever: the request stops
    waiting for it at its deadline. Bounded aside, so a write that waits for the thread
    fails here instead of hanging the run."""
    app = create_app(JobService(silent_store, lambda ctx: None), write_deadline=0.3)
    async with await open_client(app) as client:
        began = time.monotonic()
        with anyio.move_on_after(20) as bound:
            response = await client.request(method, path, json=body)
        took = time.monotonic() - began
    assert not bound.cancelled_caught, f"{method} {path} still waiting after 20 s"
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
    assert took < 3.0, f"answered {took:.1f} s after a 0.3 s deadline"  # ten times over
