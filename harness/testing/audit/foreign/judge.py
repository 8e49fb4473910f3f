"""Judge one cell of an app that keeps its own state: the sampled story and Celery's log.

What the sampler saw of the job (every status, error and whether a result was held) is
held against the workflow, against what Celery logged of the job's tasks, and against
the fault that was planted. Each finding names one of the four kinds of state bug
(:data:`~harness.testing.audit.report.card.BUG_KINDS`) and what our store and tracker do
instead. No pytest here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.adapter import JobReading, TaskEvent
from harness.testing.audit.foreign.sampler import ApiSpan, Change, SampleStats
from harness.testing.audit.report.card import Cell
from harness.testing.audit.verdict import SWALLOWABLE
from pipeline.workflow import Workflow

__all__ = [
    "API_LAG_SECONDS",
    "WAY_OVER",
    "ForeignJob",
    "job_evidence",
    "judge_foreign_cell",
    "story_findings",
    "struck_stage",
]

API_LAG_SECONDS = 1.0
"""The API may lag the store by a poll; a disagreement that lasts longer is a finding."""

WAY_OVER = {
    "stuck": (
        "pipeline.tracking.Tracker heartbeats every running stage; the stale sweep "
        "(jobstate cleanup) ends a job whose worker went silent in the error status, naming "
        "the stage, and with acks_late + reject_on_worker_lost a lost child's stage runs again"
    ),
    "celery-failed": (
        "the tracker hears Celery's task_failure in the worker's parent too (WorkerLostError, "
        "TimeLimitExceeded) and writes the error status naming the stage"
    ),
    "went-back": (
        "JobStore writes each transition in one Lua script that checks it against the workflow "
        "in Redis and fences it by attempt and delivery: a second run of a stage is refused "
        "and recorded in the history, never written over a later status"
    ),
    "skipped": (
        "Tracker writes a stage's status as the stage starts, before its work, in the process "
        "that runs it, and hands off to the next stage in the same atomic write"
    ),
    "swallowed": (
        "Tracker writes the error status, naming the stage, for whatever the stage raises; "
        "a stage that must go on after an error says so by returning, not by hiding it"
    ),
    "no-stage": (
        "Tracker writes the error as 'STAGE: ExceptionType: message', sanitised and bounded, "
        "even when the exception's text cannot be read"
    ),
    "lost-result": (
        "the last stage's result is written in the same atomic write as the final status, "
        "and a final status never changes"
    ),
    "api": (
        "the jobstate page reads the store on every poll (an ETag on the job's version makes "
        "an unchanged poll cheap), so it shows the stored truth within a second"
    ),
    "retry": "JobService.retry is atomic and allowed only from the error status",
}
"""What our store and tracker do instead, by finding."""


@dataclass
class ForeignJob:
    """What the audit knows of one job of the cell: its sampled changes, the API's
    disagreements, how it was sampled and what Celery logged of its tasks."""

    job_id: str
    changes: list[Change]
    spans: list[ApiSpan] = field(default_factory=list)
    stats: SampleStats = field(default_factory=SampleStats)
    events: list[TaskEvent] = field(default_factory=list)

    def statuses(self) -> list[str]:
        """The statuses seen, each once per stretch."""
        return [status for status, _ in self.stretches()]

    def stretches(self) -> list[tuple[str, Change]]:
        """Each status seen, once per stretch, with the change that first showed it."""
        out: list[tuple[str, Change]] = []
        for change in self.changes:
            status = change.reading.status if change.reading else ""
            if status and (not out or out[-1][0] != status):
                out.append((status, change))
        return out

    def last(self) -> JobReading | None:
        """The job as last read."""
        return self.changes[-1].reading if self.changes else None


class _Verdict:
    def __init__(self, cell: Cell) -> None:
        self.cell = cell

    def bug(self, kind: str, finding: str, way: str) -> None:
        self.cell.reasons.append(finding)
        self.cell.bugs.append({"kind": kind, "finding": finding, "way_over": WAY_OVER[way]})

    def plain(self, finding: str) -> None:
        self.cell.reasons.append(finding)

    def unseen(self, note: str) -> None:
        """Not a finding: what the sampling could not see, told with how it sampled."""
        self.cell.sampled = "; ".join(x for x in (self.cell.sampled, note) if x)


_ENDS = frozenset({"succeeded", "failed", "retried"})
"""Task log events that end a run."""

WRITE_LATENCY_SECONDS = 0.05
"""How long after its task starts a status written "as the task starts" may land."""


def _runs(job: ForeignJob, task: str, event: str) -> list[TaskEvent]:
    return [e for e in job.events if e.task == task and e.event == event]


def _overlapped(job: ForeignJob, task: str) -> bool:
    """Two runs of ``task`` for the job were under way at once."""
    open_runs = 0
    for event in job.events:
        if event.task != task:
            continue
        if event.event == "started":
            open_runs += 1
            if open_runs > 1:
                return True
        elif event.event in _ENDS:
            open_runs = max(open_runs - 1, 0)
    return False


def _swallowed(job: ForeignJob, task: str) -> bool:
    """The task ran once and Celery saw it succeed (no failure, no retry)."""
    runs = [e.event for e in job.events if e.task == task]
    return runs.count("started") == 1 and "succeeded" in runs and "failed" not in runs


def _check_path(
    v: _Verdict,
    wf: Workflow,
    job: ForeignJob,
    task: str,
    stats: str,
    stage_tasks: Mapping[str, str],
) -> None:
    order = wf.happy_path()
    stretches = job.stretches()
    steps = [status for status, _ in stretches]
    unknown = sorted({s for s in steps if s not in wf.statuses})
    if unknown:
        v.plain(
            f"the store holds statuses workflow {wf.name!r} does not declare: "
            f"{', '.join(repr(s) for s in unknown)} (is the adapter's workflow the app's?)"
        )
    for (src, _), (dst, change) in itertools.pairwise(stretches):
        if src in unknown or dst in unknown:
            continue
        if wf.allowed(src, dst) or (src == wf.error and dst == wf.initial):
            continue
        if src in wf.terminal:
            twice = f" while two runs of {task} were under way" if _overlapped(job, task) else ""
            v.bug(
                "inconsistent-updates",
                f"the state went from {src} back to {dst} after it was final{twice}: "
                "a late write from another process",
                "went-back",
            )
        elif src in order and dst in order and order.index(dst) > order.index(src):
            missed = order[order.index(src) + 1 : order.index(dst)]
            if _ran_unseen(job, stage_tasks, missed, change):
                v.unseen(
                    f"{', '.join(missed)} may have shown between two reads "
                    f"{(change.wall - change.since) * 1000:.1f} ms apart: "
                    f"{_task_names(stage_tasks, missed)} began inside that gap"
                )
                continue
            v.bug(
                "lost-at-handoff",
                f"the state went from {src} to {dst}: {', '.join(missed)} never showed "
                f"(the store was {stats})",
                "skipped",
            )
        else:
            v.bug(
                "inconsistent-updates",
                f"the state went from {src} back to {dst}: a stale write from another process",
                "went-back",
            )


def _ran_unseen(
    job: ForeignJob, stage_tasks: Mapping[str, str], missed: list[str], change: Change
) -> bool:
    """Whether, for each missed status, the last run of its stage task to begin before
    the job showed what came next began late enough that the status, written as that run
    started, may have come and gone between the two reads around ``change``.

    "As it started" allows :data:`WRITE_LATENCY_SECONDS`, or twice the longest gap between
    the job's reads when the machine was slower than that: a write lags its task's start
    as a read lags its schedule. Its end is not asked for (Celery logs a task's end after
    the write that moves the job on), nor runs that began later (a redelivery). A missed
    status with no task, no run, or a run already going well before the read that did
    not show it was not written while a read could see it: a transition lost."""
    if not change.since:
        return False
    allowance = max(WRITE_LATENCY_SECONDS, 2 * job.stats.max_gap_ms / 1000)
    for status in missed:
        name = stage_tasks.get(status)
        runs = _runs(job, name, "started") if name else []
        began = [e.at for e in runs if e.at <= change.wall]
        if not began or max(began) < change.since - allowance:
            return False
    return True


def struck_stage(job: ForeignJob, stage_tasks: Mapping[str, str], planted: str) -> str:
    """The stage a fault struck in ``job``, read from Celery's log of the job's tasks: the
    stage of its last failed run, else of a task that ran more than once (a lost run
    delivered again), else ``planted``.

    A fault is planted at a task, not at a job: while several jobs run at once, the next
    run of that task may be another job's, so the job submitted after the fault is not
    always the one it struck, and judging a job by where its fault was planted would
    turn the luck of the schedule into a finding.
    """
    stage_of = {task: stage for stage, task in stage_tasks.items()}
    runs = [e for e in job.events if e.task in stage_of]
    failed = [e.task for e in runs if e.event == "failed"]
    if failed:
        return stage_of[failed[-1]]
    started = [e.task for e in runs if e.event == "started"]
    again = [task for task in dict.fromkeys(started) if started.count(task) > 1]
    return stage_of[again[-1]] if again else planted


def _task_names(stage_tasks: Mapping[str, str], statuses: list[str]) -> str:
    return ", ".join(stage_tasks[s] for s in statuses)


def _check_end(
    v: _Verdict,
    wf: Workflow,
    job: ForeignJob,
    cell: tuple[str, str, str],
    settle: float,
    results: bool,
    fired: int,
) -> None:
    stage, task, fault = cell
    last = job.last()
    done = wf.happy_path()[-1]
    failures = [e for e in job.events if e.event == "failed"]
    if last is None:
        v.bug("inconsistent-updates", "the job's state vanished from the store", "lost-result")
        return
    raised = fault in SWALLOWABLE and fired > 0
    if raised and last.status != wf.error and _swallowed(job, task):
        v.bug(
            "errors-not-propagated",
            f"{stage}'s work raised but {task} caught the error: Celery saw it succeed and "
            f"the state says {last.status}",
            "swallowed",
        )
        return
    if last.status not in wf.terminal:
        if failures:
            f = failures[-1]
            v.bug(
                "errors-not-propagated",
                f"Celery recorded {f.task} failed ({f.error}) but the state still says "
                f"{last.status}",
                "celery-failed",
            )
        else:
            v.bug(
                "lost-at-handoff",
                f"stuck in {last.status}: no task moved it on and nothing changed for {settle:g} s",
                "stuck",
            )
        return
    if last.status == done:
        _check_done(v, job, cell, failures, done, results)
    if last.status == wf.error:
        error = last.error or ""
        short = task.rsplit(".", 1)[-1]
        if not error:
            v.bug(
                "errors-not-propagated", f"the job is in {wf.error} with no error text", "no-stage"
            )
        elif not any(name in error for name in (stage, task, short)):
            v.bug(
                "errors-not-propagated",
                f"the error does not say which stage failed: {error!r}",
                "no-stage",
            )


def _check_done(
    v: _Verdict,
    job: ForeignJob,
    cell: tuple[str, str, str],
    failures: list[TaskEvent],
    done: str,
    results: bool,
) -> None:
    stage, task, fault = cell
    last = job.last()
    assert last is not None
    ran_again = len(_runs(job, task, "started")) > 1
    # A failure after the job was seen done (the stage died after writing it) left the
    # state true; one before it is an error the state never showed.
    done_at = next((c.wall for c in job.changes if c.reading and c.reading.status == done), 0.0)
    unanswered = [f for f in failures if not ran_again and f.at < done_at]
    if unanswered:
        f = unanswered[-1]
        v.bug(
            "errors-not-propagated",
            f"Celery recorded {f.task} failed ({f.error}) but the job says {done}",
            "celery-failed",
        )
    if results and not last.has_result:
        held = any(c.reading is not None and c.reading.has_result for c in job.changes)
        v.bug(
            "inconsistent-updates" if held else "lost-at-handoff",
            f"the job says {done} but its result is gone (a later write dropped it)"
            if held
            else f"the job says {done} with no result",
            "lost-result",
        )
    if fault == "time-limit" and not failures:
        v.plain(
            f"{stage} outlasted its hard time limit and went on to {done}: the limit never "
            "stopped it (is the task's time_limit set, and short enough?)"
        )


def story_findings(
    workflow: Workflow, job: ForeignJob, task: str, stage_tasks: Mapping[str, str] | None = None
) -> list[str]:
    """What is wrong with the job's story so far: statuses it moved through that the
    workflow forbids, and the API disagreeing with the store (none while it is running
    honestly)."""
    v = _Verdict(Cell("", "", "pass"))
    _check_path(v, workflow, job, task, job.stats.describe(), stage_tasks or {})
    _check_api(v, job)
    return v.cell.reasons


def _check_api(v: _Verdict, job: ForeignJob) -> None:
    for span in job.spans:
        if span.seconds >= API_LAG_SECONDS:
            v.bug(
                "ui-not-truth",
                f"for {span.seconds:.1f} s the API showed {span.api} while the store held "
                f"{span.store}",
                "api",
            )
            return


def job_evidence(job: ForeignJob) -> list[dict[str, Any]]:
    """The job's timeline for the card: the store's changes in order, then Celery's log
    (its own clock, relative to its first entry), and the API's disagreements."""
    rows: list[tuple[float, dict[str, Any]]] = []
    for change in job.changes:
        r = change.reading
        rows.append(
            (
                change.at,
                {
                    "at": f"{change.at * 1000:.1f} ms",
                    "source": "store",
                    "status": r.status if r else "(nothing)",
                    "error": (r.error or "") if r else "",
                    "result": ("held" if r.has_result else "") if r else "",
                },
            )
        )
    t0 = min((e.at for e in job.events), default=0.0)
    for event in job.events:
        rows.append(
            (
                float("inf"),
                {
                    "at": f"celery +{(event.at - t0) * 1000:.1f} ms",
                    "source": f"celery pid {event.pid}",
                    "status": f"{event.task} {event.event}",
                    "error": event.error,
                    "result": "",
                },
            )
        )
    for span in job.spans:
        rows.append(
            (
                span.start,
                {
                    "at": f"{span.start * 1000:.1f} ms",
                    "source": "api",
                    "status": f"{span.api} (store: {span.store}) for {span.seconds:.1f} s",
                    "error": "",
                    "result": "",
                },
            )
        )
    rows.sort(key=lambda row: row[0])
    return [row for _, row in rows]


def judge_foreign_cell(
    workflow: Workflow,
    stage: str,
    task: str,
    fault: str,
    job: ForeignJob,
    *,
    fired: int,
    settle: float,
    results: bool = True,
    retry: Callable[[str], JobReading | None] | None = None,
    stage_tasks: Mapping[str, str] | None = None,
) -> Cell:
    """The cell's verdict for ``job`` after ``fault`` was planted at ``task`` (``stage``).

    ``retry(job_id)`` retries the job and returns its terminal reading (``None``: the
    adapter cannot retry); ``results`` says whether the app stores a result when done;
    ``stage_tasks`` (status to task name, the adapter's) tells a status that never
    showed because it was never written from one whose task ran between two reads.
    """
    cell = Cell(stage, fault, "pass", jobs=[job.job_id])
    v = _Verdict(cell)
    stats = job.stats.describe()
    cell.sampled = stats
    if fired == 0:
        v.plain(f"the fault never fired: {task} did not run in this cell")
    _check_path(v, workflow, job, task, stats, stage_tasks or {})
    _check_end(v, workflow, job, (stage, task, fault), settle, results, fired)
    _check_api(v, job)
    last = job.last()
    cell.final_status = last.status if last else None
    cell.ended_by = _ended_by(job, workflow)
    if last is not None and last.status == workflow.error and retry is not None and not cell.bugs:
        again = retry(job.job_id)
        done = workflow.happy_path()[-1]
        if again is not None and again.status != done:
            v.bug(
                "errors-not-propagated",
                f"a retry from {workflow.error} ended in {again.status}, not {done}",
                "retry",
            )
    cell.evidence = {job.job_id: job_evidence(job)}
    cell.verdict = "fail" if cell.reasons else "pass"
    return cell


def _ended_by(job: ForeignJob, workflow: Workflow) -> str:
    """Who ended the job, from Celery's log: ``parent`` (a failure the worker's parent
    reported), ``redelivery`` (a stage ran more than once), else ``stage``; ``""`` while
    it is not in a final status."""
    last = job.last()
    if last is None or last.status not in workflow.terminal:
        return ""
    started = [e for e in job.events if e.event == "started"]
    finished = [e for e in job.events if e.event in {"succeeded", "failed"}]
    last_run = finished[-1] if finished else None
    if last_run and last_run.event == "failed" and last_run.pid not in {e.pid for e in started}:
        return "parent"
    return "redelivery" if len(started) > len({e.task for e in started}) else "stage"
