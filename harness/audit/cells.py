"""The audit's tests: every stage of the app under every fault, its settings, its machine.

``pytest --jobstate-audit`` collects this module instead of the user's tests. Each cell
is a chaos scenario (:mod:`harness.fixtures.chaos`) on a real redis-server and a kept prefork
worker: the fault is planted (:mod:`harness.audit.scenarios`), the job judged
(:mod:`harness.audit.verdict`) and the cell travels with the test's report to the card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from harness.audit.card import Cell
from harness.audit.machine import MachineWorld, run_audit_machine
from harness.audit.scenarios import RELAYED, CellRun, NotPlantable, fault
from harness.audit.selection import (
    CELL_PROPERTY,
    FINDINGS_PROPERTY,
    MACHINE_PROPERTY,
    audit_selection,
    settings_findings,
)
from harness.fixtures.chaos import StartScenario
from harness.fixtures.chaos_workers import relayed_url
from harness.testing.browser.live_ui import LiveUi
from harness.testing.chaos.injector import FaultInjector
from harness.testing.chaos.relay import TcpRelay
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.job_input import URL_INPUT
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import Tracker

pytestmark = [
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

TIME_LIMIT = (1, 2)
"""Soft and hard time limit (seconds) of the worker that runs the ``time-limit`` cells."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One cell per selected stage and fault (``--jobstate-audit-stages/-faults``)."""
    if not {"stage", "fault_id"} <= set(metafunc.fixturenames):
        return
    selection = audit_selection(metafunc.config)
    wanted = getattr(metafunc.function, "faults", None)
    cells = [
        (stage, fault_id)
        for fault_id in selection.faults
        if wanted is None or fault_id in wanted
        for stage in selection.stages
    ]
    metafunc.parametrize(("stage", "fault_id"), cells, ids=[f"{s}-{f}" for s, f in cells])


def _faults(*ids: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def mark(function: Callable[..., None]) -> Callable[..., None]:
        function.faults = frozenset(ids)  # type: ignore[attr-defined]
        return function

    return mark


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """Function: the plugin's settings with a fast heartbeat (a lost worker shows soon)."""
    return pipeline_settings.with_(heartbeat_seconds=0.25)


@pytest.fixture
def audit_input(request: pytest.FixtureRequest, state_store: JobStore) -> Callable[[], Any]:
    """Function: ``make()`` returns one valid input for the app's workflow.

    The workflow's ``JobInput.example`` (a value or a function that makes one), else one
    built from its declared types; a workflow that declares no input gets the URL of the
    plugin's sample media server.
    """
    spec = state_store.workflow.input
    if spec is URL_INPUT:
        url = str(request.getfixturevalue("media_server").url)
        return lambda: url
    try:
        spec.sample()
    except ValueError as exc:
        raise pytest.UsageError(
            f"jobstate audit: workflow {state_store.workflow.name!r}: {exc}"
        ) from None
    return spec.sample


def _cell_run(
    stage: str,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_store: JobStore,
    worker: Any,
    new_worker: Callable[[], WorkerProcess],
    audit_input: Callable[[], Any],
    relay: TcpRelay | None = None,
) -> CellRun:
    return CellRun(
        stage,
        job_runner,
        fault_injector,
        state_store,
        worker if isinstance(worker, WorkerProcess) else None,
        new_worker,
        audit_input,
        relay=relay,
    )


def _play(request: pytest.FixtureRequest, run: CellRun, fault_id: str) -> None:
    """Plant the fault, judge the job, put the cell on the report; fail a red cell."""
    started = time.monotonic()
    job_id = ""
    try:
        job_id = fault(fault_id).plant(run)
    except NotPlantable as exc:
        cell = Cell(run.stage, fault_id, "n/a", [str(exc)])
    except Exception as exc:  # a stuck job or a failed step: the cell says so
        cell = Cell(run.stage, fault_id, "fail", [f"{type(exc).__name__}: {exc}"])
        jobs = run.runner.recorder.jobs()
        job_id = jobs[-1] if jobs else ""
        if job_id:
            cell.evidence = {job_id: run.store.history(job_id)}
            cell.jobs = [job_id]
    else:
        cell = _judged(run, fault_id, job_id)
    cell.seconds = round(time.monotonic() - started, 3)
    cell.test = (
        f"pytest --jobstate-audit --jobstate-audit-stages={run.stage} "
        f"--jobstate-audit-faults={fault_id}"
    )
    request.node.user_properties.append((CELL_PROPERTY, json.dumps(cell.__dict__)))
    if cell.verdict == "fail":
        pytest.fail(f"{cell.key}: " + "; ".join(cell.reasons), pytrace=False)


def _judged(run: CellRun, fault_id: str, job_id: str) -> Cell:
    from harness.audit.verdict import judge_cell

    def retry(job: str) -> dict[str, Any]:
        run.runner.retry(job)
        return run.terminal(job)

    cell = judge_cell(
        run.store,
        run.stage,
        fault_id,
        job_id,
        fired=run.fired(),
        hint=run.ended_by,
        retry=retry,
    )
    cell.reasons = cell.reasons or []
    return cell


@_faults(
    "exception",
    "unreadable-error",
    "system-exit",
    "child-killed",
    "worker-killed",
    "warm-shutdown",
    "cold-shutdown",
    "duplicate-delivery",
    "redis-restart",
    "redis-outage",
)
def test_fault_at_stage(
    request: pytest.FixtureRequest,
    stage: str,
    fault_id: str,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_store: JobStore,
    jobstate_worker: Any,
    jobstate_worker_factory: Callable[..., WorkerProcess],
    chaos_scenario: StartScenario,
    audit_input: Callable[[], Any],
) -> None:
    """One stage under one fault, on a kept prefork worker."""
    chaos_scenario(f"audit {stage}/{fault_id}", fault(fault_id).label, expect_result=False)
    run = _cell_run(
        stage, job_runner, fault_injector, state_store, jobstate_worker,
        jobstate_worker_factory, audit_input,
    )  # fmt: skip
    _play(request, run, fault_id)


class TestTimeLimit:
    """The time-limit cells run on a worker whose stages have a 1 s soft, 2 s hard limit."""

    @pytest.fixture
    def pipeline_settings(self, pipeline_settings: Settings) -> Settings:
        """Function: short time limits (the app must take them from its settings)."""
        soft, hard = TIME_LIMIT
        return pipeline_settings.with_(stage_soft_time_limit=soft, stage_time_limit=hard)

    @pytest.fixture
    def jobstate_celery_app(self, jobstate_celery_app: Celery) -> Iterator[Celery]:
        """Function: the app under test whose stage tasks carry the short limits too.

        Celery puts a task's time limits in the message it sends, from the sender's own
        configuration (cached at the task's first send): the first stage, sent from here,
        would carry the app's long limit and the worker would obey it. Put back, cache and
        all, at teardown.
        """
        soft, hard = TIME_LIMIT
        tasks: list[Any] = list(Tracker.of(jobstate_celery_app).tasks.values())
        before = [(task.soft_time_limit, task.time_limit) for task in tasks]
        for task in tasks:
            task.soft_time_limit, task.time_limit = soft, hard
            task._exec_options = None  # Celery caches a task's send options at its first send
        yield jobstate_celery_app
        for task, (old_soft, old_hard) in zip(tasks, before, strict=True):
            task.soft_time_limit, task.time_limit = old_soft, old_hard
            task._exec_options = None

    @_faults("time-limit")
    def test_fault_at_stage(
        self,
        request: pytest.FixtureRequest,
        stage: str,
        fault_id: str,
        job_runner: JobRunner,
        fault_injector: FaultInjector,
        state_store: JobStore,
        jobstate_worker: Any,
        jobstate_worker_factory: Callable[..., WorkerProcess],
        chaos_scenario: StartScenario,
        audit_input: Callable[[], Any],
    ) -> None:
        """One stage outlasting its hard time limit.

        The app's stages take a 1 s soft and 2 s hard limit from the audit's settings in
        its workers and (see ``jobstate_celery_app``) in the messages sent from here.
        """
        chaos_scenario(f"audit {stage}/{fault_id}", fault(fault_id).label, expect_result=False)
        run = _cell_run(
            stage, job_runner, fault_injector, state_store, jobstate_worker,
            jobstate_worker_factory, audit_input,
        )  # fmt: skip
        _play(request, run, fault_id)


class TestCutOff:
    """The cut-off cells run on a worker whose only way to Redis is a relay."""

    @pytest.fixture
    def jobstate_worker(
        self,
        pipeline_settings: Settings,
        redis_relay: TcpRelay,
        jobstate_worker_factory: Callable[..., WorkerProcess],
    ) -> WorkerProcess:
        """Function: a prefork worker reaching Redis only through ``redis_relay``."""
        return jobstate_worker_factory(
            concurrency=2, redis_url=relayed_url(pipeline_settings.redis_url, redis_relay)
        )

    @_faults(*RELAYED)
    def test_fault_at_stage(
        self,
        request: pytest.FixtureRequest,
        stage: str,
        fault_id: str,
        job_runner: JobRunner,
        fault_injector: FaultInjector,
        state_store: JobStore,
        jobstate_worker: WorkerProcess,
        redis_relay: TcpRelay,
        jobstate_worker_factory: Callable[..., WorkerProcess],
        chaos_scenario: StartScenario,
        audit_input: Callable[[], Any],
    ) -> None:
        """One stage whose worker is cut off from Redis."""
        chaos_scenario(f"audit {stage}/{fault_id}", fault(fault_id).label, expect_result=False)
        run = _cell_run(
            stage, job_runner, fault_injector, state_store, jobstate_worker,
            jobstate_worker_factory, audit_input, relay=redis_relay,
        )  # fmt: skip
        _play(request, run, fault_id)


def test_celery_settings(request: pytest.FixtureRequest, jobstate_app_target: str) -> None:
    """The app's Celery settings that honest job state needs, each with the line to add.

    Reads the app as its own workers would (not bound to a test's Redis and queue).
    """
    findings = settings_findings(jobstate_app_target)
    request.node.user_properties.append(
        (FINDINGS_PROPERTY, json.dumps([finding.__dict__ for finding in findings]))
    )
    failing = [f for f in findings if f.failing]
    if failing:
        lines = [f"{f.title}: {f.reason}\n    fix: {f.fix}" for f in failing]
        pytest.fail("settings that break honest job state:\n" + "\n".join(lines), pytrace=False)


def test_state_machine(
    request: pytest.FixtureRequest,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_store: JobStore,
    state_recorder: StateRecorder,
    live_ui: LiveUi,
    jobstate_worker: Any,
    audit_input: Callable[[], Any],
) -> None:
    """Hypothesis drives submits, faults, retries and clears on the app's real workers;
    store, API and recorder must agree after every step."""
    world = MachineWorld(
        job_runner, fault_injector, state_store, state_recorder, live_ui.url, audit_input
    )
    result = run_audit_machine(world)
    request.node.user_properties.append((MACHINE_PROPERTY, json.dumps(result.__dict__)))
    if not result.ok:
        pytest.fail(
            f"the state machine found a counterexample: {result.reason}\n"
            f"{result.counterexample or ''}",
            pytrace=False,
        )
