"""The ``jobstate`` command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings
from pipeline.store import JobStore

COMMANDS = ["worker", "beat", "submit", "status", "retry", "cleanup", "serve", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert f" {command} " in result.output


def test_top_level_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.fixture
def cli_env(jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI at the test's Redis and key prefix."""
    for key, value in jobstate_settings.to_env().items():
        monkeypatch.setenv(key, value)
    return jobstate_settings


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_status_retry_cleanup(cli_env: Settings, state_store: JobStore) -> None:
    job_id = state_store.create("http://example.com/a.mp3").job_id
    runner = CliRunner()
    out = runner.invoke(cli, ["status", job_id])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["status"] == "INIT"

    refused = runner.invoke(cli, ["retry", job_id])
    assert refused.exit_code == 1
    assert "cannot go from INIT to INIT" in refused.output

    missing = runner.invoke(cli, ["status", "nope"])
    assert missing.exit_code == 1
    assert "job nope not found" in missing.output

    bad = runner.invoke(cli, ["status", "{bad}"])
    assert bad.exit_code == 1
    assert "job_id" in bad.output

    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    swept = runner.invoke(cli, ["cleanup", "--stale-after", "0"])
    assert swept.exit_code == 0, swept.output
    assert "stale->ERROR: 1" in swept.output
    assert state_store.get_state(job_id)["status"] == "ERROR"


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_submit_rejects_bad_url_and_stores_nothing(
    cli_env: Settings,
    state_store: JobStore,
) -> None:
    result = CliRunner().invoke(cli, ["submit", "file:///etc/passwd"])
    assert result.exit_code == 1
    assert "metadata.url" in result.output
    assert "'file'" in result.output
    assert state_store.list_jobs() == []


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_submit_wait_shows_every_status_until_complete(
    pipeline_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    jobstate_worker: object,
    media_server: SampleServer,
) -> None:
    for key, value in pipeline_settings.to_env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["submit", media_server.url, "--wait", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    for status in ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "COMPLETE"):
        assert f"-> {status}" in result.output
    assert "Transcript:" in result.output
