"""A job the cleanup archived is still read by every door that reads one job: the API's
record and its poll, its history, the service and ``jobstate status``; each says it is
archived. Only the list of live jobs leaves it out."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from pipeline import runtime
from pipeline.cleanup import archive_completed
from pipeline.cli import cli
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until

pytestmark = pytest.mark.anyio


def _archived_job(store: JobStore) -> str:
    job_id = store.create("https://media.example/talk.mp3").job_id
    for status in store.workflow.happy_path()[1:-1]:
        store.set_state(job_id, status, attempt=1)
    store.set_state(job_id, store.workflow.happy_path()[-1], attempt=1, result={"n": 1})
    # A sweep takes what ended before its cut-off: the next millisecond of Redis' clock.
    wait_until(lambda: archive_completed(store, older_than=0), timeout=5, what="the archive")
    return job_id


async def test_the_api_reads_an_archived_job_and_its_history(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    job_id = _archived_job(state_store)
    answer = await client.get(f"/api/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["archived"] is True
    assert record["status"] == state_store.workflow.happy_path()[-1]
    assert record["result"] == {"n": 1}
    assert record["terminal"] is True
    again = await client.get(
        f"/api/jobs/{job_id}", headers={"if-none-match": answer.headers["etag"]}
    )
    assert again.status_code == 304
    history = (await client.get(f"/api/jobs/{job_id}/history")).json()
    assert [e["status"] for e in history] == state_store.workflow.happy_path()
    listed = [r["job_id"] for r in (await client.get("/api/jobs")).json()]
    assert job_id not in listed
    assert (await client.get("/api/jobs/no-such-job")).status_code == 404
    assert (await client.get("/api/jobs/no-such-job/history")).status_code == 404


def test_the_service_and_jobstate_status_read_an_archived_job(
    state_store: JobStore, jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _archived_job(state_store)
    service = JobService(state_store, lambda ctx: None)
    assert service.get(job_id)["archived"] is True
    assert len(service.history(job_id)) == len(state_store.workflow.happy_path())
    monkeypatch.setattr(runtime, "redis_client", lambda *a, **k: state_store.client)
    shown = CliRunner(env=jobstate_settings.to_env()).invoke(cli, ["status", job_id, "--history"])
    assert shown.exit_code == 0, shown.output
    out: dict[str, Any] = json.loads(shown.output)
    assert out["archived"] is True
    assert [e["status"] for e in out["history"]] == state_store.workflow.happy_path()
    missing = CliRunner(env=jobstate_settings.to_env()).invoke(cli, ["status", "nope"])
    assert missing.exit_code == 1
    assert "job nope not found" in missing.output
