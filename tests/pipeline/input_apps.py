"""A workflow whose jobs take a JSON object, not a URL (importable by worker subprocesses)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from pipeline.celery_app import create_app
from pipeline.errors import ValidationError
from pipeline.job_input import JobInput
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker
from pipeline.workflow import Workflow


def _small_ints(data: dict[str, Any]) -> dict[str, Any]:
    """Every number is an integer between -1000 and 1000."""
    for i, n in enumerate(data["numbers"]):
        if isinstance(n, bool) or not isinstance(n, int) or not -1000 <= n <= 1000:
            raise ValidationError(f"input.numbers[{i}]", f"{n!r} is not an integer in -1000..1000")
    return data


TALLY_INPUT = JobInput(required={"numbers": list}, optional={"label": str}, check=_small_ints)

TALLY = Workflow(
    name="tally",
    statuses={
        "QUEUED": "Queued",
        "ADDING": "Adding up",
        "CHECKING": "Checking",
        "DONE": "Done",
        "FAILED": "Failed",
    },
    initial="QUEUED",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={
        "QUEUED": frozenset({"ADDING"}),
        "ADDING": frozenset({"CHECKING"}),
        "CHECKING": frozenset({"DONE"}),
    },
    stages=("ADDING", "CHECKING"),
    input=TALLY_INPUT,
)
"""Adds up a list of numbers: the input is ``{"numbers": [...], "label": "optional"}``."""


def _add(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    numbers = ctx["input"]["numbers"]
    run.progress({"count": len(numbers)})
    ctx["artifacts"]["total"] = sum(numbers)
    return ctx


def _check(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    total = ctx["artifacts"]["total"]
    if ctx["input"].get("label") == "refuse":
        raise ValueError(f"refused to check {total}")
    ctx["result"] = {"total": total, "label": ctx["input"].get("label"), "seen": ctx["input"]}
    return ctx


def register_tally(tracker: Tracker) -> None:
    """The two tally stages."""
    tracker.stage("ADDING", name="tally.add")(_add)
    tracker.stage("CHECKING", name="tally.check")(_check)


def create_tally_app(settings: Settings) -> Celery:
    """A tracked app running the tally workflow."""
    return create_app(settings, TALLY, register=register_tally)
