"""A failure at any stage gives ERROR naming it; retry completes; attempt 1 is fenced out."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.errors import InvalidTransition, StaleAttempt
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.pipeline.conftest import HAPPY, MODES, STAGES


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("mode", MODES)
def test_failure_at_stage_then_retry(
    mode: str,
    stage: str,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
    state_store: JobStore,
    media_server: SampleServer,
    pipeline_settings: Settings,
) -> None:
    fault_injector.fail_at(stage)
    job_id = job_runner.submit(media_server.url)
    failed = job_runner.wait_for(job_id, "ERROR", timeout=120)
    assert failed["error"].startswith(f"{stage}: InjectedFault")
    assert failed["attempt"] == 1
    upto = HAPPY[: HAPPY.index(stage) + 1]
    state_recorder.assert_path(job_id, [*upto, "ERROR"], attempt=1)
    # later stages never ran nor wrote: nothing after the error in attempt 1
    assert state_recorder.history(job_id)[-1]["status"] == "ERROR"
    # the failed attempt's files (download, transcript, ...) are gone
    work = Path(pipeline_settings.work_dir) / job_id
    assert not (work / "attempt-1").exists()

    job_runner.retry(job_id)
    done = job_runner.wait_for(job_id, "COMPLETE", timeout=120)
    assert done["attempt"] == 2
    # the last stage removes the attempt's files just after writing the final status
    wait_until(lambda: not (work / "attempt-2").exists(), 10, what="attempt-2 files removed")
    state_recorder.assert_path(job_id, HAPPY, attempt=2)
    state_recorder.assert_all_legal()

    with pytest.raises(StaleAttempt):
        state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    with pytest.raises(StaleAttempt):
        state_store.progress(job_id, {"late": True}, attempt=1)
    with pytest.raises(InvalidTransition):
        state_store.fail(job_id, "too late", attempt=2)
    assert state_store.get_state(job_id)["version"] == done["version"]
