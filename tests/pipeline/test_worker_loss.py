"""Worker loss: a killed child, a killed worker, a poison job. Nothing stays running."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import WorkerProcess
from pipeline.sample_server import SampleServer
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.pipeline.conftest import HAPPY


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


pytestmark = [
    pytest.mark.prefork,
    pytest.mark.chaos,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]


def test_child_killed_mid_stage_is_redelivered(
    chaos_scenario: StartScenario,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
    media_server: SampleServer,
) -> None:
    chaos_scenario("child killed mid-stage", "SIGKILL child at TRANSCRIBING")
    fault_injector.kill_child_at("TRANSCRIBING", times=1)
    job_id = job_runner.submit(media_server.url)
    record = job_runner.wait_terminal(job_id, timeout=120)
    assert record["status"] == "COMPLETE", state_recorder.timeline()
    state_recorder.assert_path(job_id, HAPPY)
    state_recorder.assert_all_legal()


def test_poison_stage_gives_up_after_the_redelivery_cap(
    chaos_scenario: StartScenario,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
    media_server: SampleServer,
    state_store: JobStore,
) -> None:
    chaos_scenario("poison job", "SIGKILL child at every GENERATING_QUOTES")
    fault_injector.kill_child_at("GENERATING_QUOTES", times=100)
    job_id = job_runner.submit(media_server.url)
    record = job_runner.wait_terminal(job_id, timeout=180)
    assert record["status"] == "ERROR"
    cap = state_store.settings.max_stage_runs
    assert record["error"] == (f"GENERATING_QUOTES: gave up after {cap} deliveries (worker lost?)")
    state_recorder.assert_path(job_id, [*HAPPY[:4], "ERROR"])


def test_whole_worker_killed_is_swept_to_error(
    chaos_scenario: StartScenario,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
    media_server: SampleServer,
    state_store: JobStore,
    jobstate_worker: WorkerProcess,
) -> None:
    chaos_scenario("whole worker killed", "SIGKILL worker mid-TRANSCRIBING")
    fault_injector.hang_at("TRANSCRIBING")
    job_id = job_runner.submit(media_server.url)
    job_runner.wait_for(job_id, "TRANSCRIBING", timeout=60)
    children = jobstate_worker.child_pids()
    assert children, "a prefork worker with no children"
    fault_injector.kill_worker()
    assert not jobstate_worker.running
    # The whole worker, children too: none is left behind, beating for a job it holds.
    wait_until(lambda: not [p for p in children if _alive(p)], timeout=10, what="children gone")
    # Heartbeats stop with the worker: the sweep sees the job go silent after 2 s.
    swept = wait_until(
        lambda: mark_stale(state_store, older_than=2), timeout=30, what="stale sweep"
    )
    assert swept == [job_id]
    record = state_store.get_state(job_id)
    assert record["status"] == "ERROR"
    assert record["error"].startswith("stale: no heartbeat or progress for 2s")
    assert "TRANSCRIBING" in record["error"]
    state_recorder.assert_all_legal()
