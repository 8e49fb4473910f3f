"""How the audit plants each fault in the middle of one stage, with the fault injector.

Every fault of :data:`FAULTS` is a function ``plant(cell) -> job_id``: it arms or does
the fault around one job at the cell's stage, waits until the job reached a terminal
status (running the stale sweep where only the sweep can end it, starting a new worker
where the old one is gone) and returns the job's id. Judging is not done here: the
chaos tally and :mod:`harness.testing.audit.verdict` read the store afterwards. No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.testing.audit.report.card import Cell
from harness.testing.audit.verdict import judge_cell
from harness.testing.chaos.injector import FaultInjector
from harness.testing.chaos.relay import TcpRelay
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import WorkerProcess
from pipeline.store import JobStore
from pipeline.waiting import wait_until

__all__ = [
    "FAULTS",
    "PLAIN",
    "RELAYED",
    "STALE_SECONDS",
    "TIMED",
    "CellRun",
    "Fault",
    "NotPlantable",
    "TrackedCell",
    "fault",
    "fault_ids",
]

STALE_SECONDS = 2.0
"""Silence after which the audit's sweep calls a running job stale (heartbeats: 0.25 s)."""

JOB_TIMEOUT = 60.0
"""How long one cell waits for its job at each step before calling it stuck."""


class NotPlantable(Exception):
    """This fault cannot be planted in this cell; the message says why (an ``n/a`` cell)."""


@dataclass
class CellRun:
    """What planting a fault needs: the stage, the worker, Redis, a way to start workers.

    ``new_worker()`` starts another prefork worker of the app on the cell's queue;
    ``job_input()`` makes one valid input for the app's workflow. How a job is submitted,
    seen in its stage and waited for differs between an app on our tracker
    (:class:`TrackedCell`) and an app with its own state
    (:class:`harness.testing.audit.foreign.cell.ForeignCell`); the faults are the same.
    """

    stage: str
    injector: FaultInjector
    worker: WorkerProcess | None
    new_worker: Callable[[], WorkerProcess]
    job_input: Callable[[], Mapping[str, Any] | str]
    relay: TcpRelay | None = None
    """The relay between the cell's worker and Redis, when the cell has one (cut-off)."""
    notes: list[str] = field(default_factory=list)
    ended_by: str = ""
    """Set by a fault when it, not the job's history, knows who ended the job."""
    before_retry: Callable[[], None] = lambda: None
    """Called before the verdict retries the job (a cell may put settings back first)."""
    fired_before: int = -1
    """How often a fault at the stage had fired before this cell (counts outlive a cell)."""

    def __post_init__(self) -> None:
        if self.fired_before < 0:
            self.fired_before = self.injector.fired(self.fault_key)

    @property
    def fault_key(self) -> str:
        """Where the fault plan arms this cell's faults: the stage's status."""
        return self.stage

    def arm(self, kind: str) -> None:
        """Arm fault ``kind`` (:data:`pipeline.faults.FAULT_KINDS`) for one run here."""
        self.injector.plan.set(self.fault_key, kind)

    def fired(self) -> int:
        """How often the fault planted at the cell's stage has fired in this cell."""
        return self.injector.fired(self.fault_key) - self.fired_before

    def submit(self) -> str:
        """Submit one job with a fresh input."""
        raise NotImplementedError

    def wait_in_stage(self, job_id: str) -> None:
        """Wait until ``job_id`` shows the cell's stage."""

    def reach_stage(self) -> str:
        """Hang the cell's stage, submit a job and wait until it runs that stage and the
        hang has taken hold."""
        self.arm("hang")
        job_id = self.submit()
        self.wait_in_stage(job_id)
        wait_until(lambda: self.fired() > 0, timeout=JOB_TIMEOUT, what=f"{self.stage} hanging")
        return job_id

    def terminal(self, job_id: str) -> Any:
        """Wait for ``job_id``'s end."""
        raise NotImplementedError

    def sweep_until_terminal(self, job_id: str) -> Any:
        """Wait for ``job_id``'s end where only a sweep can end it."""
        return self.terminal(job_id)

    def running(self, job_id: str) -> bool:
        """Whether ``job_id`` is still in a running status."""
        raise NotImplementedError

    def outage_felt(self, worker: WorkerProcess, mark: int, job_id: str) -> bool:
        """Whether a Redis outage has lasted long enough to matter to ``job_id``."""
        raise NotImplementedError

    def cold_shutdown_begun(self, worker: WorkerProcess, mark: int) -> None:
        """Called once the worker was sent SIGQUIT, before waiting for it to be gone."""

    def while_cut_off(self, job_id: str) -> None:
        """What happens while the cell's worker is cut off from Redis."""
        self.sweep_until_terminal(job_id)

    def judge(self, fault_id: str, job_id: str) -> Cell:
        """The cell's verdict once the fault was planted around ``job_id``."""
        raise NotImplementedError

    def unfinished(self, fault_id: str, exc: Exception) -> Cell:
        """A red cell for a plant that could not finish (a stuck job, a failed step)."""
        return Cell(self.stage, fault_id, "fail", [f"{type(exc).__name__}: {exc}"])

    def replace_worker(self, job_id: str) -> WorkerProcess:
        """Start a new worker once the cell's worker is gone: for what is left of the job
        (then the new worker is who ended it) and for the retry the verdict may ask for."""
        running = self.running(job_id)
        worker = self.new_worker()
        if running:
            self.ended_by = "new worker"
        self.notes.append(f"new worker {worker.pid} started")
        return worker


@dataclass(kw_only=True)
class TrackedCell(CellRun):
    """A cell of an app on our tracker: submitted through the service, read from our store."""

    runner: JobRunner
    store: JobStore

    def submit(self) -> str:
        """Submit one job with a fresh input."""
        return self.runner.submit(self.job_input())

    def wait_in_stage(self, job_id: str) -> None:
        """Wait until the stage's status is written (the stage's hooks, the hang
        included, run after)."""
        self.runner.wait_for(job_id, self.stage, timeout=JOB_TIMEOUT)

    def terminal(self, job_id: str) -> dict[str, Any]:
        """Wait for ``job_id``'s terminal status."""
        return self.runner.wait_terminal(job_id, timeout=JOB_TIMEOUT)

    def running(self, job_id: str) -> bool:
        """Whether ``job_id`` is still in a running status."""
        return self.store.get_state(job_id)["status"] not in self.store.workflow.terminal

    def outage_felt(self, worker: WorkerProcess, mark: int, job_id: str) -> bool:
        """The worker has logged a failed heartbeat of the job: its retries are spent."""
        return f"heartbeat for {job_id} failed" in worker.log_since(mark, 100_000)

    def judge(self, fault_id: str, job_id: str) -> Cell:
        """The verdict from our store: :func:`harness.testing.audit.verdict.judge_cell`,
        retrying the job from the error status through the service."""

        def retry(job: str) -> dict[str, Any]:
            self.before_retry()
            self.runner.retry(job)
            return self.terminal(job)

        return judge_cell(
            self.store,
            self.stage,
            fault_id,
            job_id,
            fired=self.fired(),
            hint=self.ended_by,
            retry=retry,
        )

    def unfinished(self, fault_id: str, exc: Exception) -> Cell:
        """A red cell with the last job's history as its evidence."""
        cell = super().unfinished(fault_id, exc)
        jobs = self.runner.recorder.jobs()
        if jobs:
            cell.evidence = {jobs[-1]: self.store.history(jobs[-1])}
            cell.jobs = [jobs[-1]]
        return cell

    def sweep_until_terminal(self, job_id: str) -> dict[str, Any]:
        """Run the stale sweep while ``job_id`` is still in the cell's stage, until it is
        terminal (swept, or ended on its own). Once the job has moved on, the sweep is no
        longer the backstop for this fault: the job is left to end by itself."""
        terminal = self.store.workflow.terminal

        def ended() -> dict[str, Any] | None:
            if self.store.get_state(job_id)["status"] == self.stage:
                mark_stale(self.store, older_than=STALE_SECONDS)
            record = self.store.get_state(job_id)
            return record if record["status"] in terminal else None

        record = wait_until(ended, timeout=JOB_TIMEOUT, interval=0.2, what=f"{job_id} ending")
        assert record is not None  # wait_until returns only a truthy answer
        return record


PlantFn = Callable[[CellRun], str]


@dataclass(frozen=True)
class Fault:
    """One fault the audit plants: its id, what it does, and how."""

    id: str
    label: str
    plant: PlantFn
    prefork: bool = True
    """Needs a prefork worker process (every fault of the audit does, for now)."""


def _worker(cell: CellRun) -> WorkerProcess:
    if cell.worker is None:
        raise NotPlantable("needs a prefork worker process")
    return cell.worker


def _armed(kind: str, *, prefork: bool = False) -> PlantFn:
    """A fault of the plan (:data:`pipeline.faults.FAULT_KINDS`) armed at the cell's stage
    for one run; the job submitted next takes it."""

    def plant(cell: CellRun) -> str:
        if prefork:
            _worker(cell)
        cell.arm(kind)
        job_id = cell.submit()
        cell.terminal(job_id)
        return job_id

    return plant


def _worker_killed(cell: CellRun) -> str:
    worker = _worker(cell)
    job_id = cell.reach_stage()
    cell.injector.kill_worker(worker)
    cell.injector.wait_worker_gone(worker, timeout=JOB_TIMEOUT)
    cell.injector.release()
    cell.sweep_until_terminal(job_id)
    cell.replace_worker(job_id)
    return job_id


def _shutdown(warm: bool) -> PlantFn:
    """SIGTERM (warm: the worker waits for the hung stage, so it is released first) or
    SIGQUIT (cold: released once the worker is gone) mid-stage, then a new worker."""

    def plant(cell: CellRun) -> str:
        worker = _worker(cell)
        job_id = cell.reach_stage()
        if warm:
            cell.injector.terminate_worker(worker)
            cell.injector.release()
            cell.injector.wait_worker_gone(worker, timeout=JOB_TIMEOUT)
        else:
            mark = worker.log_size()
            cell.injector.quit_worker(worker)
            cell.cold_shutdown_begun(worker, mark)
            cell.injector.wait_worker_gone(worker, timeout=JOB_TIMEOUT)
            cell.injector.release()
        cell.replace_worker(job_id)
        cell.terminal(job_id)
        return job_id

    return plant


def _redis_restart(cell: CellRun) -> str:
    job_id = cell.reach_stage()
    cell.injector.restart_redis()
    cell.injector.release()
    cell.terminal(job_id)
    return job_id


def _redis_outage(cell: CellRun) -> str:
    """Redis stays down until the worker has logged a failed heartbeat of the job: its
    retries are spent. Then Redis comes back, the stage goes on, and either the job
    ends on its own or the sweep ends it."""
    worker = _worker(cell)
    job_id = cell.reach_stage()
    mark = worker.log_size()
    cell.injector.stop_redis()
    try:
        wait_until(
            lambda: cell.outage_felt(worker, mark, job_id),
            timeout=JOB_TIMEOUT,
            what="the outage to be felt (a tracked worker logs a failed heartbeat)",
        )
    finally:
        cell.injector.start_redis()
    cell.injector.release()
    cell.sweep_until_terminal(job_id)
    return job_id


def _cut_off(cell: CellRun) -> str:
    """The worker's only way to Redis stops passing bytes mid-stage: its heartbeats go
    silent, the sweep ends the job, and once reconnected its late writes are refused."""
    if cell.relay is None:
        raise NotPlantable("needs a worker behind a relay")
    job_id = cell.reach_stage()
    cell.injector.cut_off(cell.relay)
    try:
        cell.while_cut_off(job_id)
    finally:
        cell.injector.reconnect(cell.relay)
    cell.injector.release()
    return job_id


FAULTS: tuple[Fault, ...] = (
    Fault("exception", "the stage's work raises an exception", _armed("raise")),
    Fault("unreadable-error", "an exception whose text cannot be read", _armed("unreadable")),
    Fault("system-exit", "SystemExit in the stage", _armed("exit")),
    Fault("time-limit", "the stage outlasts its hard time limit", _armed("timeout", prefork=True)),
    Fault(
        "child-killed",
        "the prefork child running the stage is killed",
        _armed("kill", prefork=True),
    ),
    Fault("worker-killed", "the whole worker is killed (SIGKILL)", _worker_killed),
    Fault("warm-shutdown", "warm shutdown (SIGTERM) mid-stage", _shutdown(warm=True)),
    Fault("cold-shutdown", "cold shutdown (SIGQUIT) mid-stage", _shutdown(warm=False)),
    Fault("duplicate-delivery", "the stage's message delivered twice at once", _armed("duplicate")),
    Fault("redis-restart", "Redis restarted mid-stage", _redis_restart),
    Fault("redis-outage", "Redis down for longer than the retries", _redis_outage),
    Fault("cut-off", "the worker cut off from Redis mid-stage", _cut_off),
)
"""Every fault the audit plants, in the card's order."""

RELAYED = frozenset({"cut-off"})
"""Faults whose cell runs on a worker behind a relay instead of a kept worker."""

TIMED = frozenset({"time-limit"})
"""Faults whose cell runs on a worker of its own with short time limits."""

PLAIN = tuple(f.id for f in FAULTS if f.id not in RELAYED | TIMED)
"""Faults whose cell runs on the app's ordinary worker."""


def fault_ids() -> list[str]:
    """The ids of every fault, in the card's order."""
    return [fault.id for fault in FAULTS]


def fault(fault_id: str) -> Fault:
    """The fault named ``fault_id``, or a ``KeyError`` listing the known ones."""
    for known in FAULTS:
        if known.id == fault_id:
            return known
    raise KeyError(f"unknown fault {fault_id!r}: known faults are {', '.join(fault_ids())}")
