"""``POST /api/jobs`` takes the workflow's own job input (here one that is not a URL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.pipeline.input_apps import TALLY

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="session")
def jobstate_workflow() -> Workflow:
    """Session: the tally workflow (input ``{"numbers": [...], "label": ...}``)."""
    return TALLY


async def test_submit_takes_the_workflows_input(
    client: httpx.AsyncClient, enqueued: list[dict[str, Any]]
) -> None:
    response = await client.post("/api/jobs", json={"numbers": [1, 2], "label": "a"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "QUEUED"
    assert body["input"] == {"numbers": [1, 2], "label": "a"}
    assert body["metadata"] == {"task_id": None}  # no media-pipeline url or space_id
    assert enqueued[0]["input"] == {"numbers": [1, 2], "label": "a"}
    read = await client.get(f"/api/jobs/{body['job_id']}")
    assert read.json()["input"] == {"numbers": [1, 2], "label": "a"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "input.numbers", "is required"),
        ({"numbers": "1"}, "input.numbers", "must be list, not str"),
        ({"numbers": [1, 5000]}, "input.numbers[1]", "is not an integer in -1000..1000"),
        ({"numbers": [], "url": "https://a.example/x"}, "input.url", "is not an input"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    enqueued: list[dict[str, Any]],
    state_store: JobStore,
    body: Any,
    field: str,
    words: str,
) -> None:
    response = await client.post("/api/jobs", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem.get("field", "") == field
    assert words in problem["detail"]
    assert enqueued == []
    assert state_store.list_jobs() == []


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"{", "application/json", "the body is not JSON at character 1: "),
        (b'{"numbers": [1]} junk', "application/json", "the body is not JSON at character 17"),
        (b"\xff\xfe", "application/json", "the body is not JSON at character 0"),
        (b"", "application/json", "the body is empty: send a JSON object"),
        (b"[1, 2]", "application/json", "the body is not a JSON object: send a JSON object"),
        (b"numbers=1", "application/x-www-form-urlencoded", "the body is not a JSON object"),
        (b"hello", "text/plain", "the body is not a JSON object"),
    ],
    ids=["open", "trailing", "not-utf8", "empty", "array", "form", "text"],
)
async def test_a_body_that_is_no_json_object_is_a_400_saying_what_to_send(
    client: httpx.AsyncClient,
    enqueued: list[dict[str, Any]],
    state_store: JobStore,
    body: bytes,
    content_type: str,
    says: str,
) -> None:
    # Slip: a JSON error answered 422 with a character offset as its "field" ("1"),
    # where the API's own documentation promises 400.
    response = await client.post("/api/jobs", content=body, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["detail"].startswith(says), problem
    assert "field" not in problem
    assert enqueued == []
    assert state_store.list_jobs() == []


async def test_the_openapi_schema_describes_the_body_as_the_job_input(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    body = schema["components"]["schemas"]["SubmitRequest"]
    assert body["type"] == "object"
    assert body["description"].startswith("A new job: its input, the JSON object")
    assert body["examples"] == [{"url": "https://example.com/talk.mp3", "space_id": "s1"}]
