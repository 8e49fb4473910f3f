"""The same pipeline on real prefork workers and a real redis-server: faults and kills."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner

pytestmark = [pytest.mark.jobstate_celery("prefork"), pytest.mark.jobstate_redis("server")]


def test_a_job_completes_on_a_prefork_worker(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    image: str,
    uploaded_size: Callable[[str], tuple[int, int]],
) -> None:
    record = job_runner.run({"image": image, "width": 64, "height": 48})
    assert record["status"] == "DONE", record
    assert uploaded_size(record["job_id"]) == (64, 48)
    state_recorder.assert_path(record["job_id"], ["QUEUED", "RESIZING", "UPLOADING", "DONE"])
    state_recorder.assert_nothing_stuck()


def test_a_fault_at_a_stage_fails_the_job_and_a_retry_completes_it(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    fault_injector: FaultInjector,
    image: str,
) -> None:
    fault_injector.fail_at("UPLOADING")
    job_id = job_runner.submit({"image": image, "width": 16, "height": 16})
    failed = job_runner.wait_for(job_id, "FAILED")
    assert failed["error"].startswith("UPLOADING: InjectedFault")
    job_runner.retry(job_id)
    done = job_runner.wait_for(job_id, "DONE", attempt=2)
    assert done["result"]["size"] == [16, 16]
    state_recorder.assert_all_legal()


def test_a_child_killed_mid_stage_is_redelivered_and_the_job_completes(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    fault_injector: FaultInjector,
    image: str,
    uploaded_size: Callable[[str], tuple[int, int]],
) -> None:
    fault_injector.kill_child_at("RESIZING")
    job_id = job_runner.submit({"image": image, "width": 20, "height": 10})
    record = job_runner.wait_for(job_id, "DONE")
    assert record["attempt"] == 1
    assert uploaded_size(job_id) == (20, 10)
    statuses = [e["status"] for e in state_recorder.history(job_id) if e["kind"] != "progress"]
    assert statuses.count("RESIZING") == 2, statuses  # entered, then redelivered
    state_recorder.assert_all_legal()
