"""Workflows other than the PRD's, to show the harness works for any pipeline."""

from __future__ import annotations

from pipeline.workflow import PRD_WORKFLOW, Workflow

REVIEW = Workflow(
    name="review",
    statuses={
        "NEW": "Waiting for review",
        "CHECKING": "Checking...",
        "FIXING": "Fixing problems...",
        "APPROVED": "Approved",
        "REJECTED": "Rejected",
        "FAILED": "Something broke",
    },
    initial="NEW",
    terminal=frozenset({"APPROVED", "REJECTED", "FAILED"}),
    error="FAILED",
    transitions={
        "NEW": frozenset({"CHECKING"}),
        "CHECKING": frozenset({"FIXING", "APPROVED", "REJECTED"}),
        "FIXING": frozenset({"CHECKING"}),
    },
    stages=("CHECKING", "FIXING"),
)
"""Branches, a loop (CHECKING <-> FIXING) and two non-error terminal statuses."""

TINY = Workflow(
    name="tiny",
    statuses={"TODO": "To do", "DONE": "Done", "BROKEN": "Broken"},
    initial="TODO",
    terminal=frozenset({"DONE", "BROKEN"}),
    error="BROKEN",
    transitions={"TODO": frozenset({"DONE"})},
)
"""The smallest useful workflow: one step, or an error."""

LOOSE_PRD = Workflow(
    name="media",
    statuses=dict(PRD_WORKFLOW.statuses),
    initial="INIT",
    terminal=frozenset({"COMPLETE", "ERROR"}),
    error="ERROR",
    transitions={
        status: PRD_WORKFLOW.allowed_from(status) | {"COMPLETE"} for status in PRD_WORKFLOW.running
    },
)
"""A buggy copy of the PRD workflow that lets every stage jump straight to COMPLETE."""

WORKFLOWS = {"review": REVIEW, "tiny": TINY}
