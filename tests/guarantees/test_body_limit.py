"""The API refuses an oversized body before reading it (and a chunked one as it passes the cap)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.service import JobService
from pipeline.store import JobStore
from tests.asgi import AppClient
from ui.app import create_app
from ui.body_limit import MAX_BODY_BYTES

CHUNK = 1024 * 1024


async def _call(
    app: Any, headers: list[tuple[bytes, bytes]], chunks: int, sizes: list[int] | None = None
) -> tuple[int, int]:
    """POST /api/jobs with ``chunks`` MB of body (or pieces of ``sizes`` bytes); returns
    (status, chunks the app pulled)."""
    pulled = 0
    pieces = sizes or [CHUNK] * chunks

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        more = pulled < len(pieces)
        return {"type": "http.request", "body": b" " * pieces[pulled - 1], "more_body": more}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/jobs",
        "raw_path": b"/api/jobs",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"ui.test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("ui.test", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled


@pytest.fixture
def app(state_store: JobStore) -> Any:
    """Function: the web app on the test's store (enqueue does nothing)."""
    return create_app(JobService(state_store, lambda ctx: None))


@pytest.mark.anyio
async def test_a_declared_20_mb_body_is_refused_unread(app: Any, state_store: JobStore) -> None:
    # Slip: parsing the JSON body first and checking its size after.
    status, pulled = await _call(app, [(b"content-length", str(20 * CHUNK).encode())], 20)
    assert status == 413
    assert pulled == 0
    assert state_store.list_jobs() == []


@pytest.mark.anyio
async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(
    app: Any, state_store: JobStore
) -> None:
    status, pulled = await _call(app, [], 20)
    assert status == 413
    assert pulled <= MAX_BODY_BYTES // CHUNK + 1
    assert state_store.list_jobs() == []


@pytest.mark.anyio
async def test_the_413_says_why_and_carries_the_security_headers(app: Any) -> None:
    async with AppClient(app) as client:
        answer = await client.post("/api/jobs", content=b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}")
    assert answer.status_code == 413
    assert "larger than 65536 bytes" in answer.json()["detail"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]


@pytest.mark.anyio
async def test_a_normal_submit_still_works(app: Any) -> None:
    async with AppClient(app) as client:
        answer = await client.post("/api/jobs", json={"url": "https://media.example/a.mp3"})
    assert answer.status_code == 202


@pytest.mark.anyio
@pytest.mark.parametrize(("extra", "refused"), [(0, False), (1, True)])
async def test_many_small_pieces_count_as_one_body_at_the_cap(
    app: Any, state_store: JobStore, extra: int, refused: bool
) -> None:
    """64 pieces of 1 KiB are exactly the cap: read (then refused as an empty JSON body,
    not for its size); one byte more in a 65th piece is past it."""
    sizes = [1024] * (MAX_BODY_BYTES // 1024) + ([extra] if extra else [])
    status, pulled = await _call(app, [], 0, sizes)
    assert (status == 413) is refused, status
    assert pulled == len(sizes)
    assert state_store.list_jobs() == []
