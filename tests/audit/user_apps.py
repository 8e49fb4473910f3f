"""Small user apps for the audit's own tests: one honest, and copies with a seeded mistake.

Each is the source of a module ``mine`` that a pytester project imports. The honest app
takes the production settings our ``celery_config`` gives; each mistake changes one thing.
"""

from __future__ import annotations

HONEST = """
import logging

from celery import Celery

from pipeline import Settings, Workflow
from pipeline.celery_app import celery_config
from pipeline.job_input import JobInput
from pipeline.tracking import Tracker

log = logging.getLogger("mine")
app = Celery("mine")
app.conf.update(celery_config(Settings.from_env()))
flow = Workflow(
    name="mine",
    statuses={
        "NEW": "Queued",
        "PREPARING": "Preparing",
        "COUNTING": "Counting",
        "DONE": "Done",
        "FAILED": "Failed",
    },
    initial="NEW",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={"NEW": {"PREPARING"}, "PREPARING": {"COUNTING"}, "COUNTING": {"DONE"}},
    stages=("PREPARING", "COUNTING"),
    input=JobInput(required={"text": str}),
)
tracker = Tracker(app, flow)


def words(text):
    return text.split()


@tracker.stage("PREPARING", name="mine.prepare")
def prepare(ctx, run):
    ctx["words"] = words(ctx["input"]["text"])
    return ctx


@tracker.stage("COUNTING", name="mine.count")
def count(ctx, run):
    ctx["result"] = {"words": len(words(" ".join(ctx["words"])))}
    return ctx
"""
"""Two stages that let every error reach the tracker."""

SWALLOWING = HONEST.replace(
    """def count(ctx, run):
    ctx["result"] = {"words": len(words(" ".join(ctx["words"])))}
    return ctx""",
    """def count(ctx, run):
    try:
        ctx["result"] = {"words": len(words(" ".join(ctx["words"])))}
    except Exception:
        log.exception("counting failed")  # the mistake: logged, never raised
    return ctx""",
)
"""COUNTING catches every exception and returns: its errors never reach the job's state."""

NO_LATE_ACKS = HONEST.replace(
    '@tracker.stage("COUNTING", name="mine.count")',
    '@tracker.stage("COUNTING", name="mine.count", acks_late=False)',
)
"""COUNTING opts out of late acks: a worker lost mid-stage loses its message."""

SHORT_VISIBILITY = (
    HONEST
    + """
app.conf.broker_transport_options = {"visibility_timeout": 60}
"""
)
"""The broker redelivers a message after 60 s while a stage may run for 660 s (its limit)."""

OTHER_QUEUE = (
    HONEST
    + """
app.conf.task_routes = {"mine.count": {"queue": "counting"}}
"""
)
"""COUNTING is sent to a queue its workers (which read the default queue) never read."""
