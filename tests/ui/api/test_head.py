"""Every resource that answers ``GET`` answers ``HEAD`` with the same status and headers and
no body; a 405's ``Allow`` names exactly the methods the path answers.

The doors are read from the app itself (every ``GET`` operation of its OpenAPI document,
the page routes, the schema and every static file), so a route added later is held to
the same rule.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.api.routes import every_path, fill, gets
from ui.allow import METHODS
from ui.server import start_in_thread

pytestmark = pytest.mark.anyio

URL = "https://media.example/talk.mp3"
IDS = ["{real}", "nobody", "*"]  # a job, an unknown id, a malformed one


def _shown(answer: httpx.Response) -> tuple[int, list[tuple[str, str]]]:
    return answer.status_code, sorted(answer.headers.multi_items())


def test_the_doors_include_the_api_the_pages_and_the_static_files(app: FastAPI) -> None:
    doors = gets(app)
    assert {"/", "/docs", "/healthz", "/api/jobs", "/api/jobs/{job_id}"} <= set(doors)
    assert {"/static/app.js", "/static/history-kinds.js", "/openapi.json"} <= set(doors)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_head_answers_as_get_with_no_body(
    app: FastAPI, client: httpx.AsyncClient, state_store: JobStore, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(gets(app)), label="door")
    job_id = data.draw(st.sampled_from(IDS), label="job").replace("{real}", _job(state_store))
    held = data.draw(st.sampled_from([None, "its own", "*", '"0.0.0"']), label="If-None-Match")
    path = fill(template, job_id)
    first = await client.get(path)
    tag = first.headers.get("etag") if held == "its own" else held
    headers = {"If-None-Match": tag} if tag else {}
    get = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)
    assert _shown(head) == _shown(get), (path, headers)
    assert head.content == b""
    assert get.status_code != 405


def _job(store: JobStore) -> str:
    jobs = store.list_jobs()
    return str(jobs[0]["job_id"]) if jobs else store.create(URL).job_id


@pytest.mark.parametrize("template", ["/api/jobs/{job_id}", "/static/app.js"])
async def test_a_conditional_head_of_what_the_client_holds_is_a_304(
    client: httpx.AsyncClient, state_store: JobStore, template: str
) -> None:
    path = fill(template, state_store.create(URL).job_id)
    tag = (await client.get(path)).headers["etag"]
    answer = await client.head(path, headers={"If-None-Match": tag})
    assert answer.status_code == 304
    assert answer.headers["etag"] == tag
    assert answer.content == b""


async def test_a_405_allows_exactly_what_the_path_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # An unknown job, so that no write the sweep sends changes anything.
    for template in every_path(app):
        path = fill(template, "nobody")
        answers = {m: await client.request(m, path) for m in METHODS}
        answered = [m for m in METHODS if answers[m].status_code != 405]
        assert ("GET" in answered) == ("HEAD" in answered), (path, answered)
        for method, answer in answers.items():
            if answer.status_code == 405:
                assert answer.headers["allow"] == ", ".join(answered), (method, path)


def test_a_real_server_frames_a_head_as_a_get_without_its_body(
    service: JobService, state_store: JobStore
) -> None:
    job_id = state_store.create(URL).job_id
    with start_in_thread(service) as running, httpx.Client(base_url=running.url) as http:
        for path in (f"/api/jobs/{job_id}", "/", "/static/app.js", "/healthz"):
            get, head = http.get(path), http.head(path)
            assert (head.status_code, head.content) == (get.status_code, b""), path
            assert head.headers["content-length"] == str(len(get.content)), path
            assert head.headers.get("etag") == get.headers.get("etag"), path
        # The connection is still in step: the next answer is read whole.
        assert http.get("/api/ping").json() == {"status": "ok"}


@pytest.mark.parametrize("parts", [[b"whole body"], [b"a" * 70_000, b"b" * 10, b"c"]])
async def test_a_head_answer_carries_no_body_byte_whatever_the_app_sends(
    parts: list[bytes],
) -> None:
    """What :class:`ui.head.HeadAsGet` itself sends, before any server or client could
    drop a body: the GET's start (status and headers) and one empty, final body message;
    a streamed answer's parts never go out. (httpx and uvicorn drop a HEAD's body on their
    own, so a test through them cannot see one slip through; a server trusting the app
    would send it and break the connection.)"""
    from starlette.types import Message, Receive, Scope, Send

    from ui.head import HeadAsGet

    start = {"type": "http.response.start", "status": 200, "headers": [(b"etag", b'"v1"')]}
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["method"])
        await send(start)
        for i, part in enumerate(parts):
            await send(
                {"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1}
            )

    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "HEAD", "path": "/", "headers": []}
    await HeadAsGet(app)(scope, nothing, record)
    assert seen == ["GET"]
    assert sent == [start, {"type": "http.response.body", "body": b"", "more_body": False}]
