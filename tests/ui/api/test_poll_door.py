"""The poll answered ahead of the framework is the route's answer, whatever is asked.

:class:`ui.poll_path.JobstateAPI` answers ``GET /api/jobs/{id}`` before FastAPI's layers
when the app's middleware is only ours; with a project's middleware added, the poll goes
through it (and is answered by the innermost :class:`ui.poll_path.PollPath`). Both doors
must give the same status, headers and body for any id and any ``If-None-Match``, for a
refusal, a store that is down and an error nobody expected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.errors import StoreUnavailable
from pipeline.live_reads import LiveReads
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.api.conftest import open_client
from ui.app import create_app
from ui.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio

URL = "https://media.example/talk.mp3"


class Counting:
    """A project's middleware: counts the requests it sees; refuses those without a key
    when ``key`` is set (an authentication layer)."""

    def __init__(self, app: ASGIApp, seen: list[str], key: bytes | None = None) -> None:
        self.app, self.seen, self.key = app, seen, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
            if self.key is not None and (b"x-key", self.key) not in scope["headers"]:
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


@pytest.fixture
def doors(service: JobService) -> tuple[FastAPI, FastAPI]:
    """Function: the app as built (poll first), and the same with a project's middleware
    (poll through the stack)."""
    routed = create_app(service)
    routed.add_middleware(Counting, seen=[])
    return create_app(service), routed


@pytest.fixture
async def clients(
    doors: tuple[FastAPI, FastAPI],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Function: in-process clients on both doors."""
    async with await open_client(doors[0]) as first, await open_client(doors[1]) as routed:
        yield first, routed


def _shown(answer: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return answer.status_code, sorted(answer.headers.multi_items()), answer.content


async def _both(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    path: str,
    headers: dict[str, bytes] | None = None,
) -> httpx.Response:
    first, routed = [await c.get(path, headers=headers) for c in clients]
    assert _shown(first) == _shown(routed), path
    return first


IDS = st.one_of(
    st.sampled_from(["{real}", "nobody", "*", "a" * 200, "x y", "%2F", "..", "é"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"], exclude_characters="/?#"),
        max_size=30,
    ),
)
TAGS = st.one_of(
    st.sampled_from(["{tag}", "*", "", '{tag}, W/"1.1.0"', '"1.2.0"', "W/", "\x7f"]),
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=40),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(job_id=IDS, held=TAGS)
async def test_both_doors_answer_any_poll_alike(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    state_store: JobStore,
    job_id: str,
    held: str,
) -> None:
    real = state_store.create(URL).job_id
    tag = (await clients[0].get(f"/api/jobs/{real}")).headers["etag"]
    path = "/api/jobs/" + job_id.replace("{real}", real)
    header = held.replace("{tag}", tag).encode("latin-1")  # any bytes a client may send
    answer = await _both(clients, path, {"If-None-Match": header} if held else None)
    assert answer.status_code < 500
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_the_app_as_built_answers_the_poll_first_and_a_projects_middleware_stops_that(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    doors: tuple[FastAPI, FastAPI],
    state_store: JobStore,
) -> None:
    # Slip: the poll answered ahead of a project's middleware (it would skip their auth).
    job_id = state_store.create(URL).job_id
    await _both(clients, f"/api/jobs/{job_id}")
    assert [getattr(app, "jobstate_poll_first", None) for app in doors] == [True, False]


async def test_a_projects_middleware_sees_every_poll(
    service: JobService, state_store: JobStore
) -> None:
    seen: list[str] = []
    app = create_app(service)
    app.add_middleware(Counting, seen=seen, key=b"k-1")
    job_id = state_store.create(URL).job_id
    async with await open_client(app) as client:
        refused = await client.get(f"/api/jobs/{job_id}")
        allowed = await client.get(f"/api/jobs/{job_id}", headers={"X-Key": "k-1"})
    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert seen == [f"/api/jobs/{job_id}"] * 2


@pytest.fixture
def failing_reads(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Function: every poll's read raises the exception put in the list."""
    raised: list[BaseException] = []

    async def poll(self: LiveReads, *args: Any, **kwargs: Any) -> Any:
        raise raised[0]

    monkeypatch.setattr(LiveReads, "poll", poll)
    return raised


async def test_a_store_that_is_down_is_the_same_503_by_both_doors(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], failing_reads: list[BaseException]
) -> None:
    failing_reads.append(StoreUnavailable("Redis unreachable: refused"))
    answer = await _both(clients, "/api/jobs/some-job")
    assert answer.status_code == 503
    assert "unreachable" in answer.text.lower() or "unavailable" in answer.text.lower()


async def test_an_unexpected_error_is_the_stacks_logged_json_500_with_the_policy(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    failing_reads: list[BaseException],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Slip: the first door letting the error escape to the server (a bare 500 and no
    # policy headers), or answering it some other way than the stack does.
    failing_reads.append(RuntimeError("boom-7781"))
    answer = await _both(clients, "/api/jobs/some-job")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error: the server could not answer"}
    assert answer.headers["cache-control"] == "no-store"
    assert "boom-7781" not in answer.text
    assert any("boom-7781" in r.getMessage() or r.exc_info for r in caplog.records)


def test_with_telemetry_on_the_poll_goes_through_the_framework(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(service)
    telemetry = getattr(app, "_native_telemetry", None)
    if telemetry is None:
        pytest.skip("this FastAPI has no telemetry of its own to go through")
    app.build_middleware_stack()
    assert app.jobstate_poll_first is True  # type: ignore[attr-defined]
    monkeypatch.setattr(telemetry, "enabled", lambda: True)  # a provider was set up
    app.build_middleware_stack()
    assert app.jobstate_poll_first is False  # type: ignore[attr-defined]
