"""The whole chain, in eager, thread and prefork modes, tells the same story."""

from __future__ import annotations

import pytest

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.sample_server import SampleServer
from tests.pipeline.conftest import HAPPY, MODES


@pytest.mark.parametrize("mode", MODES)
def test_chain_completes_with_the_exact_path(
    mode: str,
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    media_server: SampleServer,
    jobstate_celery_mode: str,
) -> None:
    assert jobstate_celery_mode == mode
    record = job_runner.run(media_server.url, space_id="space-1", timeout=120)
    assert record["status"] == "COMPLETE", record
    state_recorder.assert_path(record["job_id"], HAPPY)
    result = record["result"]
    assert result["transcript"].strip()
    assert isinstance(result["quotes"], list)
    assert result["summary"].strip()
    assert record["metadata"]["space_id"] == "space-1"
    assert record["error"] is None
    state_recorder.assert_nothing_stuck()


@pytest.mark.parametrize("mode", MODES)
def test_download_progress_is_recorded(
    mode: str,
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    media_server: SampleServer,
) -> None:
    job_id = job_runner.submit(media_server.url)
    job_runner.wait_for(job_id, "COMPLETE", timeout=120)
    progress = [e for e in state_recorder.history(job_id) if e["kind"] == "progress"]
    assert progress, "the download reported no progress"
    assert {e["status"] for e in progress} == {"DOWNLOADING"}
    versions = [e["version"] for e in state_recorder.history(job_id)]
    assert versions == list(range(1, len(versions) + 1))
