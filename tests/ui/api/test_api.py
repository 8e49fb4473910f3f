"""Every route of the JSON API and each of its answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pipeline.store import JobStore

pytestmark = pytest.mark.anyio

URL = "https://media.example/talk.mp3"


async def _submit(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/jobs", json={"url": URL, **body})
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_submit_answers_202_with_the_new_state(
    client: httpx.AsyncClient, enqueued: list[dict[str, Any]]
) -> None:
    response = await client.post("/api/jobs", json={"url": URL, "space_id": "space-9"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "INIT"
    assert body["attempt"] == 1
    assert body["version"] == 1
    assert body["metadata"] == {"url": URL, "space_id": "space-9", "task_id": None}
    assert body["terminal"] is False
    assert body["failed"] is False
    assert body["stale"] is False
    assert response.headers["location"] == f"/api/jobs/{body['job_id']}"
    assert [(c["job_id"], c["attempt"], c["url"]) for c in enqueued] == [(body["job_id"], 1, URL)]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://media.example/a.mp3"}, "url", "scheme 'ftp' is not http or https"),
        ({"url": "javascript:alert(1)"}, "url", "scheme 'javascript'"),
        ({"url": "https://media.example/a b.mp3"}, "url", "spaces or control characters"),
        ({"url": ""}, "url", "is required"),
        ({"url": URL, "space_id": "<img src=x>"}, "space_id", "is not a valid space id"),
        ({}, "url", "url: is required"),
        ({"url": URL, "extra": 1}, "extra", "is not an input of this workflow"),
        ({"url": URL, "space_id": 7}, "space_id", "is not a valid space id"),
    ],
)
async def test_submit_rejects_bad_input_with_422_and_the_reason(
    client: httpx.AsyncClient,
    enqueued: list[dict[str, Any]],
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = await client.post("/api/jobs", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == field
    assert words in problem["detail"]
    assert enqueued == []


async def test_get_returns_the_record_and_the_result_once_complete(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    job_id = (await _submit(client))["job_id"]
    state_store.set_state(job_id, "DOWNLOADING", attempt=1, progress={"bytes": 10, "total": 20})
    body = (await client.get(f"/api/jobs/{job_id}")).json()
    assert body["status"] == "DOWNLOADING"
    assert body["version"] == 2
    assert body["progress"] == {"bytes": 10, "total": 20}
    assert body["result"] is None
    for status in ("TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"):
        state_store.set_state(job_id, status, attempt=1)
    state_store.set_state(job_id, "COMPLETE", attempt=1, result={"summary": "ok"})
    body = (await client.get(f"/api/jobs/{job_id}")).json()
    assert body["status"] == "COMPLETE"
    assert body["terminal"] is True
    assert body["result"] == {"summary": "ok"}
    assert body["updated_at"].endswith("Z")


async def test_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/jobs/no-such-job")
    assert response.status_code == 404
    assert response.json() == {"detail": "job no-such-job not found"}


@pytest.mark.parametrize("bad", ["bad%20id", "a%7Bb%7D", "x" * 65, "-leading-dash"])
@pytest.mark.parametrize("suffix", ["", "/history"])
async def test_malformed_id_is_400(client: httpx.AsyncClient, bad: str, suffix: str) -> None:
    response = await client.get(f"/api/jobs/{bad}{suffix}")
    assert response.status_code == 400
    assert response.json()["field"] == "job_id"


async def test_malformed_id_is_400_for_retry_and_delete(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/jobs/bad%20id/retry")).status_code == 400
    assert (await client.delete("/api/jobs/bad%20id")).status_code == 400


async def test_retry_only_from_error(
    client: httpx.AsyncClient, state_store: JobStore, enqueued: list[dict[str, Any]]
) -> None:
    job_id = (await _submit(client))["job_id"]
    response = await client.post(f"/api/jobs/{job_id}/retry")
    assert response.status_code == 409
    assert "cannot go from INIT" in response.json()["detail"]
    state_store.fail(job_id, "boom", attempt=1)
    response = await client.post(f"/api/jobs/{job_id}/retry")
    assert response.status_code == 202
    assert response.json()["attempt"] == 2
    assert response.json()["status"] == "INIT"
    assert [c["attempt"] for c in enqueued] == [1, 2]
    again = await client.post(f"/api/jobs/{job_id}/retry")
    assert again.status_code == 409
    assert (await client.post("/api/jobs/no-such-job/retry")).status_code == 404


async def test_delete_is_204_then_404(client: httpx.AsyncClient) -> None:
    job_id = (await _submit(client))["job_id"]
    response = await client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/api/jobs/{job_id}")).status_code == 404
    assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 404


async def test_list_is_newest_first_and_limited(client: httpx.AsyncClient) -> None:
    ids = [(await _submit(client))["job_id"] for _ in range(3)]
    response = await client.get("/api/jobs", params={"limit": 2})
    assert response.status_code == 200
    assert [r["job_id"] for r in response.json()] == ids[::-1][:2]
    assert (await client.get("/api/jobs", params={"limit": 0})).status_code == 422
    assert (await client.get("/api/jobs", params={"limit": "many"})).status_code == 422


async def test_history_lists_every_change(client: httpx.AsyncClient, state_store: JobStore) -> None:
    job_id = (await _submit(client))["job_id"]
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    state_store.fail(job_id, "boom", attempt=1, stage="DOWNLOADING")
    entries = (await client.get(f"/api/jobs/{job_id}/history")).json()
    assert [(e["kind"], e["from"], e["status"]) for e in entries] == [
        ("create", None, "INIT"),
        ("transition", "INIT", "DOWNLOADING"),
        ("transition", "DOWNLOADING", "ERROR"),
    ]
    assert entries[-1]["error"] == "DOWNLOADING: boom"
    assert (await client.get("/api/jobs/no-such-job/history")).status_code == 404


async def test_health_ping_and_workflow(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "redis": "up"}
    assert (await client.get("/api/ping")).json() == {"status": "ok"}
    workflow = (await client.get("/api/workflow")).json()
    assert workflow["happy_path"][0] == "INIT"
    assert workflow["happy_path"][-1] == "COMPLETE"
    assert set(workflow["terminal"]) == {"COMPLETE", "ERROR"}


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/retry",
        "/api/jobs/{job_id}/history",
        "/healthz",
    } <= set(spec["paths"])
    answers = spec["paths"]["/api/jobs/{job_id}"]["get"]["responses"]
    assert {"200", "400", "404", "503"} <= set(answers)
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert '<script type="module" src="/static/docs.js">' in docs.text


async def test_pages_are_served_on_home_and_job_paths(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    job = await client.get("/jobs/some-job")
    assert home.status_code == job.status_code == 200
    assert home.text == job.text
    assert 'data-testid="job-status"' in home.text
    script = await client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
