"""A URL's user-info reaches the worker and nobody else: no read, list, log or CLI shows it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from tests.asgi import AppClient

SECRET_URL = "https://alice:s3cret-pw@media.example.com/talk.mp3"
SHOWN = "https://***@media.example.com/talk.mp3"


def _no_secret(value: Any) -> None:
    text = json.dumps(value)
    assert "s3cret-pw" not in text
    assert "alice" not in text


def test_store_reads_never_show_credentials(state_store: JobStore) -> None:
    job_id = state_store.create(SECRET_URL).job_id
    record = state_store.get_state(job_id)
    assert record["metadata"]["url"] == SHOWN
    _no_secret(record)
    _no_secret(state_store.get_live_state(job_id))
    _no_secret(state_store.list_jobs())
    _no_secret(state_store.history(job_id))


def test_the_owner_can_still_read_the_url_it_stored(state_store: JobStore) -> None:
    job_id = state_store.create(SECRET_URL).job_id
    assert state_store.get_state(job_id, reveal_credentials=True)["metadata"]["url"] == SECRET_URL


def test_the_worker_gets_the_credentials_on_submit_and_retry(
    state_store: JobStore,
) -> None:
    # Slip: redacting at write time (or building the retry context from a redacted read)
    # would send the worker a URL it cannot fetch.
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    record = service.submit(SECRET_URL)
    _no_secret(record)
    state_store.fail(record["job_id"], "boom", attempt=1, stage="DOWNLOADING")
    _no_secret(service.retry(record["job_id"]))
    assert [ctx["url"] for ctx in sent] == [SECRET_URL, SECRET_URL]


def test_error_and_message_texts_are_stored_without_credentials(state_store: JobStore) -> None:
    job_id = state_store.create("https://media.example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1, message=f"fetching {SECRET_URL}")
    state_store.fail(job_id, f"HTTPError: 403 for {SECRET_URL}", attempt=1, stage="DOWNLOADING")
    _no_secret(state_store.get_state(job_id))
    _no_secret(state_store.history(job_id))
    assert "***@media.example.com" in state_store.get_state(job_id)["error"]


@pytest.mark.anyio
async def test_api_never_shows_credentials(
    state_store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    from ui.app import create_app

    app = create_app(JobService(state_store, lambda ctx: None))
    caplog.set_level(logging.DEBUG)
    async with AppClient(app) as client:
        made = await client.post("/api/jobs", json={"url": SECRET_URL})
        assert made.status_code == 202
        job_id = made.json()["job_id"]
        for path in (f"/api/jobs/{job_id}", "/api/jobs", f"/api/jobs/{job_id}/history"):
            answer = await client.get(path)
            assert answer.status_code == 200, path
            _no_secret(answer.json())
        _no_secret(made.json())
    assert "s3cret-pw" not in caplog.text


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_cli_status_never_shows_credentials(
    jobstate_settings: Settings, state_store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in jobstate_settings.to_env().items():
        monkeypatch.setenv(key, value)
    job_id = state_store.create(SECRET_URL).job_id
    out = CliRunner().invoke(cli, ["status", job_id, "--history"])
    assert out.exit_code == 0, out.output
    assert "s3cret-pw" not in out.output
    assert json.loads(out.output)["metadata"]["url"] == SHOWN


def test_the_servers_access_line_is_redacted_and_still_formats() -> None:
    from uvicorn.logging import AccessFormatter

    from pipeline.redaction import install_log_redaction

    install_log_redaction()
    logger = logging.getLogger("uvicorn.access")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        path = "/api/jobs?access_token=s3cret-pw&url=https://alice:pw2@media.example/a.mp3"
        logger.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", path, "1.1", 200)
    finally:
        logger.removeHandler(keep)
    [record] = records
    line = AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s').format(record)
    assert line.startswith('127.0.0.1:5 "GET /api/jobs?access_token=***')
    assert line.endswith('HTTP/1.1" 200 OK')
    assert "s3cret-pw" not in line
    assert "pw2" not in line
