"""metadata.task_id is the running stage's Celery id, observed from inside each stage."""

from __future__ import annotations

import pytest

from harness.testing.runner import JobRunner
from tests.pipeline.conftest import MODES, STAGES


@pytest.fixture
def jobstate_app_target() -> str:
    """Run the probe stages instead of the media ones."""
    return "tests.pipeline.apps:create_probe_app"


@pytest.mark.parametrize("mode", MODES)
def test_task_id_is_the_running_stage_id(mode: str, job_runner: JobRunner) -> None:
    record = job_runner.run("http://example.com/probe.mp3", timeout=60)
    assert record["status"] == "COMPLETE", record
    seen = record["result"]["seen"]
    assert list(seen) == STAGES
    ids = [seen[s]["celery_id"] for s in STAGES]
    assert all(ids), ids
    assert len(set(ids)) == len(STAGES), ids
    for stage in STAGES:
        assert seen[stage]["stored_status"] == stage
        assert seen[stage]["stored_task_id"] == seen[stage]["celery_id"]
    history = job_runner.service.history(record["job_id"])
    entered = {e["status"]: e["task_id"] for e in history if e["kind"] == "transition"}
    for stage in STAGES:
        assert entered[stage] == seen[stage]["celery_id"]
