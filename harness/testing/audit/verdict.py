"""Judge one audit cell from the store: the chaos tally's verdict plus what a fault demands.

The chaos tally (:func:`harness.chaos_tally.judge_job`) says whether the job is terminal,
stuck, illegal or lost. A cell asks more of its job: an error must name the stage, an
exception raised inside the stage's work must reach the state (unless the stage ran
again and completed, as an automatic retry does), and a retry from the error status
must complete. No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.testing.audit.report.card import Cell
from harness.testing.chaos.tally import judge_job
from pipeline.store import JobStore

__all__ = ["PARENT_ERRORS", "SWALLOWABLE", "ended_by", "judge_cell", "retry_problem"]

PARENT_ERRORS = ("TimeLimitExceeded", "WorkerLostError")
"""Errors a stage cannot write itself: the worker's parent process reports them."""

SWALLOWABLE = frozenset({"exception", "unreadable-error"})
"""Faults raised inside the stage's own work, where a catch-all could hide them."""


def ended_by(history: list[dict[str, Any]], error_status: str, hint: str = "") -> str:
    """Who wrote the job's terminal status, read from its history (``hint`` when the
    fault knows better, e.g. a new worker finished the job)."""
    if not history:
        return ""
    last = history[-1]
    if last["kind"] == "stale":
        return "sweep"
    if last["kind"] == "redelivery":
        return "redelivery cap"
    if last["status"] == error_status:
        error = str(last.get("error", ""))
        return "parent" if any(name in error for name in PARENT_ERRORS) else "stage"
    if hint:
        return hint
    if any(entry["kind"] == "redelivered" for entry in history):
        return "redelivery"
    return "stage"


def _names_stage(record: dict[str, Any], stage: str) -> bool:
    error = str(record.get("error") or "")
    return error.startswith(f"{stage}:") or f"while {stage}" in error


def _swallowed(history: list[dict[str, Any]], stage: str) -> bool:
    """The stage completed its job without running again after its work raised."""
    return not any(e["kind"] == "redelivered" and e["status"] == stage for e in history)


def retry_problem(store: JobStore, job_id: str, retry: Callable[[str], dict[str, Any]]) -> str:
    """Retry ``job_id`` from the error status; ``""`` when the retry completed, else why not."""
    done = store.workflow.happy_path()[-1]
    try:
        record = retry(job_id)
    except Exception as exc:  # the cell's verdict carries it
        return f"a retry from {store.workflow.error} did not complete: {type(exc).__name__}: {exc}"
    if record["status"] != done:
        return f"a retry from {store.workflow.error} ended in {record['status']}, not {done}"
    return ""


def judge_cell(
    store: JobStore,
    stage: str,
    fault: str,
    job_id: str,
    *,
    fired: int,
    hint: str = "",
    retry: Callable[[str], dict[str, Any]] | None = None,
) -> Cell:
    """The cell's verdict for ``job_id`` after ``fault`` was planted at ``stage``.

    ``fired`` is how often the planted fault fired; ``retry(job_id)`` retries the job
    and waits for its terminal record (skipped when ``None``).
    """
    workflow = store.workflow
    verdict = judge_job(store, job_id, expect_result=False)
    history = store.history(job_id)
    record = store.find_state(job_id)
    cell = Cell(stage, fault, "pass", list(verdict.problems), jobs=[job_id])
    cell.final_status = record["status"] if record else None
    cell.ended_by = ended_by(history, workflow.error, hint)
    done = workflow.happy_path()[-1]
    if fired == 0:
        cell.reasons.append(f"the fault never fired: {stage} did not run in this cell")
    if record is not None and record["status"] == workflow.error:
        if not _names_stage(record, stage):
            cell.reasons.append(f"the error does not name the stage {stage}: {record['error']!r}")
        if retry is not None and not (verdict.stuck or verdict.illegal):
            problem = retry_problem(store, job_id, retry)
            cell.reasons += [problem] if problem else []
    if fault == "time-limit" and record is not None and record["status"] == done:
        cell.reasons.append(
            f"{stage} outlasted its hard time limit and went on to {done}: the limit never "
            "stopped it (is the stage's time_limit set, and short enough?)"
        )
    swallowed = fault in SWALLOWABLE and fired and record and record["status"] == done
    if swallowed and _swallowed(history, stage):
        cell.reasons.append(
            f"{stage}'s work raised but the job says {done}: the stage swallowed the error, "
            "so it never reached the job's state"
        )
    cell.evidence = {job_id: store.history(job_id)}
    cell.verdict = "fail" if cell.reasons else "pass"
    return cell
