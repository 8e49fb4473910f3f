"""A Hypothesis state machine over the app's own workflow, on its real workers.

Rules submit jobs, plant a fault at a stage before a submit, retry jobs in the error
status, clear finished jobs and let everything settle. After every step the machine
checks that the three views of each job agree: the store (its record and history), the
web API (what the page reads) and the state recorder (the change notices it heard).
State machines cannot take fixtures, so the machine is bound to a :class:`MachineWorld`
built by the audit's test. No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from harness.testing.audit.report.card import MachineResult
from harness.testing.chaos.injector import FaultInjector
from harness.testing.chaos.tally import judge_job
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.errors import InvalidTransition
from pipeline.store import JobStore
from pipeline.waiting import wait_until

__all__ = [
    "MACHINE_SETTINGS",
    "STAGE_FAULTS",
    "AuditMachine",
    "MachineWorld",
    "run_audit_machine",
    "run_machine",
]

MACHINE_SETTINGS = settings(
    max_examples=4,
    stateful_step_count=8,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
"""A few short runs: every step waits on real workers."""

DEFAULT_SEED = 0
"""The seed the audit's machine draws from unless ``--jobstate-audit-seed`` names another:
a fixed one, so two audits of the same app draw the same runs and their verdicts differ
only where the app's workers do."""

REPLAY = """# The machine's failing run, as Hypothesis printed it (seed {seed}: the audit with
# --jobstate-audit-seed={seed} draws it again). To replay it, put these
# steps in a test that builds the world as {module} does:
#     state = {machine} subclass bound to your world (see {runner})
{steps}
"""

SETTLE_SECONDS = 60.0
STAGE_FAULTS = ("raise", "exit", "kill")
"""Faults a rule may plant before a submit (the job that takes it fails or runs again)."""


@dataclass
class MachineWorld:
    """What the machine drives: the runner, the injector, the store, the API and recorder."""

    runner: JobRunner
    injector: FaultInjector
    store: JobStore
    recorder: StateRecorder
    api_url: str
    job_input: Callable[[], Any]
    faults: tuple[str, ...] = STAGE_FAULTS
    """The fault kinds a rule may plant (``exit`` and ``kill`` need prefork workers)."""


class AuditMachine(RuleBasedStateMachine):
    """Submits, faults, retries and clears jobs; checks store, API and recorder agree."""

    bound_world: ClassVar[MachineWorld | None] = None

    def __init__(self) -> None:
        super().__init__()
        world = type(self).bound_world
        if world is None:
            raise TypeError("AuditMachine needs a world: use run_audit_machine(world)")
        self.world = world
        self.wf = world.store.workflow
        self.jobs: list[str] = []
        self.api = httpx.Client(base_url=world.api_url, timeout=10)

    def teardown(self) -> None:
        """Let every job finish, check each one's whole story, close the API client."""
        try:
            self.settle()
            for job_id in self.jobs:
                verdict = judge_job(self.world.store, job_id, expect_result=False)
                assert not verdict.illegal, verdict.problems
                assert not verdict.lost, verdict.problems
        finally:
            self.world.injector.release()
            self.api.close()

    # -- rules --------------------------------------------------------------------------

    @initialize()
    def first_job(self) -> None:
        """Every run starts with a job: a run of settles alone, or of no step, would check
        nothing, and the machine would pass any app by the luck of its draws."""
        self.submit()

    @rule()
    def submit(self) -> None:
        """Submit a job with a valid input."""
        self.jobs.append(self.world.runner.submit(self.world.job_input()))

    @rule(data=st.data())
    def submit_with_fault(self, data: st.DataObject) -> None:
        """Plant one fault at a stage, then submit a job (the next run of it takes it)."""
        kind = data.draw(st.sampled_from(self.world.faults), label="fault")
        stage = data.draw(st.sampled_from(self.wf.stages), label="stage")
        self.world.injector.plan.set(stage, kind, 1)
        self.submit()

    @precondition(lambda self: bool(self.jobs))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Retry a job: allowed only from the error status, refused (nothing changed) else."""
        job_id = data.draw(st.sampled_from(self.jobs), label="job")
        before = self.world.store.find_state(job_id)
        if before is None:
            return
        try:
            self.world.runner.retry(job_id)
        except InvalidTransition:
            # The error status is terminal: only a retry moves a job out of it.
            assert before["status"] != self.wf.error, f"a retry of {job_id} was refused"

    @precondition(lambda self: bool(self.jobs))
    @rule(data=st.data())
    def clear_finished(self, data: st.DataObject) -> None:
        """Clear a finished job: afterwards the store and the API say it is gone."""
        job_id = data.draw(st.sampled_from(self.jobs), label="job")
        record = self.world.store.find_state(job_id)
        if record is None or record["status"] not in self.wf.terminal:
            return
        self.world.runner.service.clear(job_id)
        self.jobs.remove(job_id)
        assert self.world.store.find_state(job_id) is None
        assert self.api.get(f"/api/jobs/{job_id}").status_code == 404

    @rule()
    def settle(self) -> None:
        """Wait until every job is in a terminal status."""
        terminal = self.wf.terminal

        def settled() -> bool:
            return all(
                (r := self.world.store.find_state(job_id)) is None or r["status"] in terminal
                for job_id in self.jobs
            )

        wait_until(settled, timeout=SETTLE_SECONDS, interval=0.05, what="every job settling")

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def the_api_shows_a_stored_state(self) -> None:
        """What the API answers is a state the job's history holds at that version."""
        for job_id in self.jobs:
            answer = self.api.get(f"/api/jobs/{job_id}")
            if answer.status_code == 404:
                assert self.world.store.find_state(job_id) is None, f"API lost {job_id}"
                continue
            assert answer.status_code == 200, answer.text
            shown = answer.json()
            at = {e["version"]: e["status"] for e in self.world.store.history(job_id)}
            assert at.get(shown["version"]) == shown["status"], (
                f"API shows {job_id} as {shown['status']} v{shown['version']}, "
                f"its history says {at.get(shown['version'])}"
            )

    @invariant()
    def the_recorder_heard_the_stored_story(self) -> None:
        """Every change notice the recorder heard is an entry of the job's history."""
        notices = list(self.world.recorder.notices)
        for job_id in self.jobs:
            at = {e["version"]: e["status"] for e in self.world.store.history(job_id)}
            for notice in (n for n in notices if n.job_id == job_id):
                if notice.version in at:
                    assert at[notice.version] == notice.status, (
                        f"{job_id} v{notice.version}: heard {notice.status}, "
                        f"stored {at[notice.version]}"
                    )

    @invariant()
    def every_history_is_a_legal_story(self) -> None:
        """Each job's history so far is a legal path of the workflow."""
        for job_id in self.jobs:
            steps = [(e["kind"], e["status"]) for e in self.world.store.history(job_id)]
            assert not steps or self.wf.is_legal_path(steps), f"{job_id}: illegal {steps}"


def _notes(exc: BaseException) -> list[str]:
    notes = [str(note) for note in getattr(exc, "__notes__", [])]
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            notes += _notes(inner)
    return notes


def run_audit_machine(
    world: MachineWorld, config: settings = MACHINE_SETTINGS, draw_seed: int = DEFAULT_SEED
) -> MachineResult:
    """Run the machine; the result carries Hypothesis's replayable counterexample, if any."""
    machine = type("AppAuditMachine", (AuditMachine,), {"bound_world": world})
    return run_machine(
        machine, config, "harness.fixtures.audit.cells", "run_audit_machine", draw_seed
    )


def run_machine(
    machine: type[RuleBasedStateMachine],
    config: settings,
    module: str,
    runner: str,
    draw_seed: int = DEFAULT_SEED,
) -> MachineResult:
    """Run a machine already bound to its world, drawing from ``draw_seed``; a
    counterexample names the ``module`` whose test builds that world and the ``runner``
    that binds it.

    The seed is the one gate every machine's draws pass: the same seed draws the same
    rules and data, whatever ran before in the process and whatever ``--hypothesis-seed``
    the run was given, so a verdict changes only with what the app's workers did.
    """
    machine = seed(draw_seed)(type(machine.__name__, (machine,), {}))
    lines: list[str] = []

    def report(text: Any) -> None:
        lines.append(str(text))

    try:
        with with_reporter(report):
            run_state_machine_as_test(machine, settings=config)
    except (Exception, BaseExceptionGroup) as exc:
        # Hypothesis puts the shortest failing run on the exception's notes (PEP 678),
        # on each of several distinct failures; older releases printed it instead.
        notes = _notes(exc)
        steps = "\n".join(notes or lines).strip()
        base = machine.__mro__[2].__name__
        replay = REPLAY.format(
            steps=steps, module=module, machine=base, runner=runner, seed=draw_seed
        )
        example = replay if steps else None
        return MachineResult(
            ran=True,
            ok=False,
            examples=config.max_examples,
            steps=config.stateful_step_count,
            reason=f"{type(exc).__name__}: {exc}".splitlines()[0],
            counterexample=example,
            seed=draw_seed,
        )
    return MachineResult(
        ran=True,
        ok=True,
        examples=config.max_examples,
        steps=config.stateful_step_count,
        seed=draw_seed,
    )
