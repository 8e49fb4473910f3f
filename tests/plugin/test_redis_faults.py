"""A user's project: its fixture worker rides through a Redis restart and a Redis outage.

A CSV import with its own Celery app and workflow, as a new user writes it from the README.
A stage hangs, Redis is restarted (or down for 2 s) under the running worker, the stage is
released: the job completes, every stage run by the same fixture worker, and that worker
is still the one the next test borrows. In both real modes, under ``filterwarnings =
error``.
"""

from __future__ import annotations

import pytest

from tests.plugin.user_project import clear_jobstate_env, run, write_module

MODES = [
    pytest.param("thread", id="thread", marks=[pytest.mark.integration, pytest.mark.chaos]),
    pytest.param("prefork", id="prefork", marks=[pytest.mark.prefork, pytest.mark.chaos]),
]

IMPORTER = """
from celery import Celery

from pipeline import Workflow
from pipeline.tracking import Tracker

app = Celery("importer", broker="redis://127.0.0.1:9/0")
flow = Workflow(
    name="csv-import",
    statuses={
        "QUEUED": "Waiting",
        "VALIDATING": "Checking the rows",
        "IMPORTING": "Writing the rows",
        "IMPORTED": "Imported",
        "REJECTED": "Import failed",
    },
    initial="QUEUED",
    terminal=frozenset({"IMPORTED", "REJECTED"}),
    error="REJECTED",
    transitions={"QUEUED": {"VALIDATING"}, "VALIDATING": {"IMPORTING"}, "IMPORTING": {"IMPORTED"}},
    stages=("VALIDATING", "IMPORTING"),
)
tracker = Tracker(app, flow)


@tracker.stage("VALIDATING")
def validating(ctx, run):
    ctx["rows"] = 3
    return ctx


@tracker.stage("IMPORTING")
def importing(ctx, run):
    ctx["result"] = {"rows": ctx["rows"]}
    return ctx
"""

FAULT_TESTS = """
import pytest

from pipeline.waiting import wait_until

PATH = ["QUEUED", "VALIDATING", "IMPORTING", "IMPORTED"]
NODES = []


@pytest.fixture
def hang_through(
    job_runner,
    fault_injector,
    jobstate_worker,
    jobstate_celery_app,
    jobstate_workers,
    state_recorder,
):
    \"\"\"``hang_through(fault)``: a job hangs at VALIDATING through ``fault()``, then
    goes on; returns its final record.\"\"\"

    def run(fault):
        fault_injector.hang_at("VALIDATING")
        job_id = job_runner.submit("https://example.com/rows.csv")
        job_runner.wait_for(job_id, "VALIDATING", timeout=60)
        fault()
        # The worker answers through its new broker connection, the stage still hanging.
        wait_until(
            lambda: jobstate_celery_app.control.ping(
                destination=[jobstate_worker.node], timeout=0.5
            ),
            timeout=60,
            what="the worker answering after Redis came back",
        )
        fault_injector.release()
        record = job_runner.wait_for(job_id, "IMPORTED", timeout=60)
        # The session has started one worker: it ran both stages, through the fault.
        assert jobstate_workers.started == 1
        assert jobstate_worker.running
        state_recorder.assert_path(job_id, PATH)
        state_recorder.assert_all_legal()
        NODES.append(jobstate_worker.node)
        return record

    return run


def test_redis_restarted_while_a_stage_hangs(hang_through, fault_injector):
    assert hang_through(fault_injector.restart_redis)["result"] == {"rows": 3}


def test_redis_down_for_two_seconds_while_a_stage_hangs(hang_through, fault_injector):
    assert hang_through(lambda: fault_injector.redis_outage(2))["result"] == {"rows": 3}


def test_the_same_worker_serves_the_next_test(
    job_runner, jobstate_worker, jobstate_workers, state_recorder
):
    assert NODES == [jobstate_worker.node] * 2
    assert jobstate_workers.started == 1
    job_id = job_runner.submit("https://example.com/more.csv")
    assert job_runner.wait_for(job_id, "IMPORTED", timeout=60)["result"] == {"rows": 3}
    state_recorder.assert_path(job_id, PATH)
"""


@pytest.mark.parametrize("mode", MODES)
def test_the_fixture_worker_rides_through_a_redis_restart_and_an_outage(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "importer", IMPORTER)
    pytester.makeini("[pytest]\njobstate_app = importer:app\nfilterwarnings = error\n")
    pytester.makepyfile(FAULT_TESTS)
    result = run(
        pytester, f"--jobstate-celery={mode}", "--jobstate-redis=server", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3)
