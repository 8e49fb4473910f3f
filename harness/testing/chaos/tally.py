"""Count a chaos scenario's jobs: terminal, stuck, illegal and lost (no pytest here).

Each job is judged from the store alone: its durable history (the story) and its current
record (the state the page shows). A job is

- *terminal* when its record is in a terminal status, *stuck* when it is in any other;
- *illegal* when its history is not a legal path of the workflow (terminal stays
  terminal, retries only from the error status...), its versions do not strictly
  increase, its record is malformed, or its record disagrees with the last entry of its
  history (status or attempt);
- *lost* when it reached the final status but that result is gone: the record vanished,
  moved away from the final status, or (when results are expected) carries no result.
  A job whose record vanished is counted as lost whatever it reached.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ValidationError
from pipeline.history import HistoryKind
from pipeline.store import JobStore
from pipeline.validation import check_record

__all__ = ["JobVerdict", "Tally", "judge_job", "tally_jobs"]


@dataclass
class JobVerdict:
    """What one job's history and record say about it."""

    job_id: str
    status: str | None
    terminal: bool = False
    stuck: bool = False
    illegal: bool = False
    lost: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """The counts over every job of a scenario, and what went wrong, job by job."""

    jobs: int = 0
    terminal: int = 0
    stuck: int = 0
    illegal: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing is stuck, illegal or lost."""
        return not (self.stuck or self.illegal or self.lost)

    def add(self, verdict: JobVerdict) -> None:
        """Count one job."""
        self.jobs += 1
        self.terminal += verdict.terminal
        self.stuck += verdict.stuck
        self.illegal += verdict.illegal
        self.lost += verdict.lost
        self.problems += [f"job {verdict.job_id}: {p}" for p in verdict.problems]


def _story_problems(store: JobStore, history: list[dict[str, Any]]) -> list[str]:
    problems = []
    steps = [(e["kind"], e["status"]) for e in history]
    if not store.workflow.is_legal_path(steps):
        problems.append(f"illegal path {steps}")
    versions = [e["version"] for e in history]
    if any(b <= a for a, b in itertools.pairwise(versions)):
        problems.append(f"versions not strictly increasing: {versions}")
    return problems


def _record_problems(store: JobStore, record: dict[str, Any], last: dict[str, Any]) -> list[str]:
    problems = []
    try:
        check_record(record, store.workflow)
    except ValidationError as exc:
        problems.append(f"malformed record: {exc}")
    if (record["status"], record["attempt"]) != (last["status"], last["attempt"]):
        problems.append(
            f"record says {record['status']} (attempt {record['attempt']}) but its history "
            f"ends in {last['status']} (attempt {last['attempt']})"
        )
    return problems


def _lost(
    store: JobStore, record: dict[str, Any] | None, history: list[dict[str, Any]], results: bool
) -> str | None:
    done = store.workflow.happy_path()[-1]
    if record is None:
        return "record vanished"
    if not any(e["status"] == done and e["kind"] == HistoryKind.TRANSITION for e in history):
        return None
    if record["status"] != done:
        return f"reached {done} but the record now says {record['status']}"
    if results and record.get("result") in (None, "", {}, []):
        return f"reached {done} but its result is gone"
    return None


def judge_job(store: JobStore, job_id: str, *, expect_result: bool = True) -> JobVerdict:
    """Judge one job from its history and record (see the module docs)."""
    history = store.history(job_id)
    record = store.find_state(job_id)
    verdict = JobVerdict(job_id, record["status"] if record else None)
    problems = _story_problems(store, history) if history else []
    if record is not None and history:
        problems += _record_problems(store, record, history[-1])
    elif record is not None:
        problems.append("record has no history")
    verdict.illegal = bool(problems)
    lost = _lost(store, record, history, expect_result)
    if lost is not None:
        verdict.lost = True
        problems.append(lost)
    if record is not None:
        verdict.terminal = record["status"] in store.workflow.terminal
        verdict.stuck = not verdict.terminal
        if verdict.stuck:
            problems.append(f"stuck in {record['status']}")
    verdict.problems = problems
    return verdict


def tally_jobs(store: JobStore, job_ids: Iterable[str], *, expect_result: bool = True) -> Tally:
    """Judge every job in ``job_ids`` (each once) and count the verdicts."""
    tally = Tally()
    for job_id in dict.fromkeys(job_ids):
        tally.add(judge_job(store, job_id, expect_result=expect_result))
    return tally
