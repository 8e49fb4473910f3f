"""A cell of an app that keeps its own state: planted at the task, read through its adapter.

The faults are the audit's own (:data:`harness.testing.audit.scenarios.FAULTS`), armed at
the stage's Celery task (:mod:`harness.testing.chaos.task_faults`) instead of a tracker
stage. A job has ended when its state has been still, and no task of it has started or
finished, for a while: after a final status long enough to see a late write or a
lagging API, after any other for the adapter's ``settle_seconds`` (then it is stuck).
No pytest here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.adapter import JobReading, StateAdapter, TaskEvent
from harness.testing.audit.foreign.judge import (
    API_LAG_SECONDS,
    ForeignJob,
    job_evidence,
    judge_foreign_cell,
)
from harness.testing.audit.foreign.sampler import StateSampler
from harness.testing.audit.report.card import Cell
from harness.testing.audit.scenarios import JOB_TIMEOUT, CellRun
from harness.testing.chaos.task_faults import task_key
from pipeline.procs.worker_process import WorkerProcess
from pipeline.waiting import wait_until

__all__ = [
    "COLD_SHUTDOWN_LINES",
    "CUT_OFF_SECONDS",
    "OUTAGE_SECONDS",
    "ForeignCell",
    "settle_job",
]

OUTAGE_SECONDS = 2.0
"""How long Redis stays down in a ``redis-outage`` cell (as the audit's reads see it)."""

CUT_OFF_SECONDS = 2.0
"""How long the worker stays cut off from Redis in a ``cut-off`` cell."""

COLD_SHUTDOWN_LINES = ("Hitting Ctrl+C again", "Cold shutdown")
"""What a Celery worker logs as its cold shutdown begins (5.5 and later, and before)."""

FINAL_QUIET = 0.5
"""How long a job in a final status must stay still before it is judged (longer when the
API is compared: a lagging API must have the time to show it lags)."""


def settle_job(
    adapter: StateAdapter,
    sampler: StateSampler,
    events: Callable[[], list[TaskEvent]],
    job_id: str,
) -> JobReading | None:
    """Wait until ``job_id`` has been still (no change read, no task of it logged) long
    enough: :data:`FINAL_QUIET` in a final status (longer when its API is compared), the
    adapter's ``settle_seconds`` in any other. Returns its last reading."""
    final = adapter.workflow.terminal
    quiet_final = max(FINAL_QUIET, API_LAG_SECONDS + 0.3 if adapter.has_api else 0)
    seen: list[Any] = [None, time.monotonic()]

    def settled() -> bool:
        activity = (len(sampler.changes(job_id)), len(events()))
        now = time.monotonic()
        if activity != seen[0]:
            seen[:] = [activity, now]
        latest = sampler.latest(job_id)
        needed = quiet_final if latest and latest.status in final else adapter.settle_seconds
        return now - float(seen[1]) >= needed

    limit = JOB_TIMEOUT + adapter.settle_seconds
    wait_until(settled, timeout=limit, interval=0.05, what=f"{job_id} settling")
    return sampler.latest(job_id)


@dataclass(kw_only=True)
class ForeignCell(CellRun):
    """A cell judged from what the adapter reads and what Celery logged.

    ``events()`` reads the task log of the cell's workers; ``results`` says whether the
    app stores a result when a job is done.
    """

    adapter: StateAdapter
    sampler: StateSampler
    task: str
    events: Callable[[], list[TaskEvent]]
    results: bool = True
    jobs: list[str] = field(default_factory=list)

    @property
    def fault_key(self) -> str:
        """Faults are armed at the stage's Celery task."""
        return task_key(self.task)

    def submit(self) -> str:
        """Start a job the way the app's users do, and sample it from now on."""
        job_id = str(self.adapter.submit(self.job_input()))
        self.sampler.track(job_id)
        self.jobs.append(job_id)
        return job_id

    def job_events(self, job_id: str) -> list[TaskEvent]:
        """What Celery logged of ``job_id``'s tasks."""
        return [e for e in self.events() if self.adapter.belongs(job_id, e)]

    def terminal(self, job_id: str) -> JobReading | None:
        """Wait until the job has settled (see the module docs); its last reading."""
        return settle_job(self.adapter, self.sampler, lambda: self.job_events(job_id), job_id)

    @property
    def settle(self) -> float:
        """How long a job in a running status may stay still before it is stuck."""
        return float(self.adapter.settle_seconds)

    def running(self, job_id: str) -> bool:
        """Whether the job's last reading is a running status."""
        latest = self.sampler.latest(job_id)
        return latest is None or latest.status not in self.adapter.workflow.terminal

    def outage_felt(self, worker: WorkerProcess, mark: int, job_id: str) -> bool:
        """The store has failed every read for :data:`OUTAGE_SECONDS`."""
        return self.sampler.down_for() >= OUTAGE_SECONDS

    def cold_shutdown_begun(self, worker: WorkerProcess, mark: int) -> None:
        """Let the hung task go once the worker has begun its cold shutdown.

        Celery (5.5 and later) cancels a running task that is not acknowledged late by
        signalling its pool child, then waits for the pool to stop; the audit's hang is no
        task work that signal could cut short, so it is released here, and the task is
        cut at its next step as Celery cuts it.
        """
        wait_until(
            lambda: any(line in worker.log_since(mark, 100_000) for line in COLD_SHUTDOWN_LINES),
            timeout=JOB_TIMEOUT,
            what="the worker beginning its cold shutdown",
        )
        self.injector.release()

    def while_cut_off(self, job_id: str) -> None:
        """Keep the worker cut off for :data:`CUT_OFF_SECONDS` (the fault's length)."""
        time.sleep(CUT_OFF_SECONDS)  # the cut itself is what is being simulated

    def foreign_job(self, job_id: str) -> ForeignJob:
        """Everything the audit knows of ``job_id`` now."""
        return ForeignJob(
            job_id,
            self.sampler.changes(job_id),
            self.sampler.api_spans(job_id),
            self.sampler.stats(job_id),
            self.job_events(job_id),
        )

    def judge(self, fault_id: str, job_id: str) -> Cell:
        """Let the job settle, then judge its sampled story against Celery's log."""
        self.terminal(job_id)
        retry = self._retry if self.adapter.can_retry else None
        cell = judge_foreign_cell(
            self.adapter.workflow,
            self.stage,
            self.task,
            fault_id,
            self.foreign_job(job_id),
            fired=self.fired(),
            settle=self.settle,
            results=self.results,
            retry=retry,
            stage_tasks=self.adapter.stage_tasks,
        )
        if self.ended_by and cell.final_status is not None:
            cell.ended_by = self.ended_by
        return cell

    def _retry(self, job_id: str) -> JobReading | None:
        self.before_retry()
        self.adapter.retry(job_id)
        return self.terminal(job_id)

    def unfinished(self, fault_id: str, exc: Exception) -> Cell:
        """A red cell with what the sampler saw of the last job."""
        cell = super().unfinished(fault_id, exc)
        if self.jobs:
            job = self.foreign_job(self.jobs[-1])
            cell.jobs = [job.job_id]
            cell.sampled = job.stats.describe()
            cell.evidence = {job.job_id: job_evidence(job)}
        return cell
