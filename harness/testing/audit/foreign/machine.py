"""The audit's state machine over an app that keeps its own state, on its real workers.

The same rules as :mod:`harness.testing.audit.machine` where an adapter allows them:
submit, plant a fault at a stage's task before a submit, retry a job in the error
status (when the adapter can), let everything settle. After every step each settled
job's sampled story must be one the workflow allows, and its API must not disagree with
its store for longer than a poll; at teardown every job is judged as a cell judges its job
(stuck, errors that never reached the state, lost results), at the stage where Celery's
log shows a fault struck it: with several jobs in flight, a fault planted before one job's
submit may be taken by another's run. No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.adapter import StateAdapter, TaskEvent
from harness.testing.audit.foreign.cell import settle_job
from harness.testing.audit.foreign.judge import (
    ForeignJob,
    judge_foreign_cell,
    story_findings,
    struck_stage,
)
from harness.testing.audit.foreign.sampler import StateSampler
from harness.testing.audit.machine import (
    DEFAULT_SEED,
    MACHINE_SETTINGS,
    STAGE_FAULTS,
    run_machine,
)
from harness.testing.audit.report.card import MachineResult
from harness.testing.chaos.injector import FaultInjector

__all__ = ["FOREIGN_SETTINGS", "ForeignMachine", "ForeignWorld", "run_foreign_machine"]


@dataclass
class ForeignWorld:
    """What the machine drives: the adapter, its sampler, the injector and Celery's log."""

    adapter: StateAdapter
    sampler: StateSampler
    injector: FaultInjector
    events: Callable[[], list[TaskEvent]]
    faults: tuple[str, ...] = STAGE_FAULTS
    failures: list[tuple[str, str]] = field(default_factory=list)
    """Each failing run as the machine saw it: what failed, and the steps taken."""

    def job(self, job_id: str) -> ForeignJob:
        """Everything known of ``job_id`` now."""
        mine = [e for e in self.events() if self.adapter.belongs(job_id, e)]
        return ForeignJob(
            job_id,
            self.sampler.changes(job_id),
            self.sampler.api_spans(job_id),
            self.sampler.stats(job_id),
            mine,
        )


class ForeignMachine(RuleBasedStateMachine):
    """Submits, faults, retries; checks each job's sampled story and its API."""

    bound_world: ClassVar[ForeignWorld | None] = None

    def __init__(self) -> None:
        super().__init__()
        world = type(self).bound_world
        if world is None:
            raise TypeError("ForeignMachine needs a world: use run_foreign_machine(world)")
        self.world = world
        self.adapter = world.adapter
        self.wf = world.adapter.workflow
        self.jobs: list[str] = []
        self.planted: dict[str, str] = {}
        self.settled: set[str] = set()
        self.steps: list[str] = []

    def teardown(self) -> None:
        """Let every job settle and judge each as a cell would."""
        try:
            self.settle()
            for job_id in self.jobs:
                job = self.world.job(job_id)
                stage = self._struck(job)
                cell = judge_foreign_cell(
                    self.wf,
                    stage,
                    self.adapter.stage_tasks[stage],
                    "machine",
                    job,
                    fired=1,
                    settle=self.adapter.settle_seconds,
                    results=self.adapter.results,
                    stage_tasks=self.adapter.stage_tasks,
                )
                self._check(cell.reasons, job_id)
        finally:
            self.world.injector.release()

    # -- rules --------------------------------------------------------------------------

    @initialize()
    def first_job(self) -> None:
        """Every run starts with a job: a run with no job would judge nothing, and the
        machine would pass any app by the luck of its draws."""
        self.steps.append(f"state.first_job()  # job {self._start()}")

    @rule()
    def submit(self) -> None:
        """Start a job with a valid input."""
        self.steps.append(f"state.submit()  # job {self._start()}")

    def _start(self) -> str:
        job_id = str(self.adapter.submit(self.adapter.example_input()))
        self.world.sampler.track(job_id)
        self.jobs.append(job_id)
        return job_id

    @rule(data=st.data())
    def submit_with_fault(self, data: st.DataObject) -> None:
        """Plant one fault at a stage's task, then start a job: the next run of that task
        takes it, this job's or one still running from an earlier step."""
        kind = data.draw(st.sampled_from(self.world.faults), label="fault")
        stage = data.draw(st.sampled_from(sorted(self.adapter.stage_tasks)), label="stage")
        self.world.injector.at_task(self.adapter.stage_tasks[stage], kind)
        job_id = self._start()
        self.planted[job_id] = stage
        self.steps.append(f"state.submit_with_fault({kind!r} at {stage})  # job {job_id}")

    @precondition(lambda self: bool(self.jobs) and self.adapter.can_retry)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Retry a job that is in the error status."""
        job_id = data.draw(st.sampled_from(self.jobs), label="job")
        latest = self.world.sampler.latest(job_id)
        if latest is not None and latest.status == self.wf.error:
            self.adapter.retry(job_id)
            self.steps.append(f"state.retry({job_id!r})")

    @rule()
    def settle(self) -> None:
        """Wait until every job has been still long enough to be judged."""
        for job_id in self.jobs:
            settle_job(self.adapter, self.world.sampler, self._events_of(job_id), job_id)
        self.settled.update(self.jobs)
        self.steps.append("state.settle()")

    def _events_of(self, job_id: str) -> Callable[[], list[TaskEvent]]:
        return lambda: self.world.job(job_id).events

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def every_settled_story_is_one_the_workflow_allows(self) -> None:
        """No settled job moved in a way its workflow forbids, and no API lagged its store.

        Only settled jobs: a running job's story is judged once it has been still, so a
        failure shows at the same step each time Hypothesis replays it.
        """
        for job_id in sorted(self.settled):
            job = self.world.job(job_id)
            stage = self._struck(job)
            found = story_findings(
                self.wf, job, self.adapter.stage_tasks[stage], self.adapter.stage_tasks
            )
            self._check(found, job_id)

    def _struck(self, job: ForeignJob) -> str:
        """The stage to judge ``job`` by: where a fault struck it, as Celery logged it
        (:func:`struck_stage`), else where one was planted before its submit."""
        planted = self.planted.get(job.job_id, next(iter(self.adapter.stage_tasks)))
        return struck_stage(job, self.adapter.stage_tasks, planted)

    def _check(self, found: list[str], job_id: str) -> None:
        """Fail on ``found``, kept first on the world: the run is not replayed the same
        way (its workers and timings are real), so Hypothesis' own replay may not fail."""
        if found:
            failure = f"job {job_id}: " + "; ".join(found)
            self.world.failures.append((failure, "\n".join(self.steps)))
            raise AssertionError(failure)


FOREIGN_SETTINGS = settings(MACHINE_SETTINGS, phases=(Phase.explicit, Phase.generate))
"""The audit machine's settings without shrinking: an app that keeps its own state is
often wrong in a way that depends on timing, and shrinking replays each failing run on
real workers many times over. The first failing run is reported as it ran."""


def run_foreign_machine(
    world: ForeignWorld, config: settings = FOREIGN_SETTINGS, draw_seed: int = DEFAULT_SEED
) -> MachineResult:
    """Run the machine over ``world``; the result carries the failing run, if any."""
    machine: Any = type("AppForeignMachine", (ForeignMachine,), {"bound_world": world})
    result = run_machine(
        machine, config, "harness.fixtures.audit.foreign_cells", "run_foreign_machine", draw_seed
    )
    if result.ok or not world.failures:
        return result
    # What the failing run found, as it ran: Hypothesis' replay of it on real workers may
    # go another way (a flaky replay, or data drawn differently) and say only that.
    failure, steps = world.failures[0]
    example = result.counterexample or f"# the steps of the failing run\n{steps}"
    return replace(result, reason=failure, counterexample=example)
