"""Apps for the guarantee tests, importable by worker subprocesses.

``readme_app`` is built exactly as the README's "Tracking your own Celery pipeline" shows
(plus the broker settings any deployment adds); ``prd_app`` is the reference pipeline's
``create_app`` with small stages. A stage's behaviour is chosen by the job URL's path, so
one app serves every scenario: ``/ok``, ``/raise-badstr``, ``/raise-nonstr``,
``/raise-blank``, ``/exit``, ``/wait`` (until the job's fault plan releases it).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

from celery import Celery

from pipeline import ValidationError, Workflow
from pipeline.celery_app import create_app
from pipeline.job_input import JobInput
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker
from tests.guarantees.hostile import nest

FLOW = Workflow.linear(
    "mine",
    initial=("NEW", "Queued"),
    stages={"WORK": "Working"},
    done=("DONE", "Done"),
    error=("FAILED", "Failed"),
)


class BadStr(Exception):
    """An exception whose ``__str__`` itself raises."""

    def __str__(self) -> str:
        raise RuntimeError("cannot describe myself")


class NonStr(Exception):
    """An exception whose ``__str__`` returns something that is not text."""

    def __str__(self) -> Any:
        return 42


def behave(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Do what the job URL's path asks."""
    action = urlsplit(str(ctx.get("url", ""))).path.strip("/")
    if action == "raise-badstr":
        raise BadStr()
    if action == "raise-nonstr":
        raise NonStr()
    if action == "raise-blank":
        raise ValueError("\n\n   \nthe real message\nsecond line")
    if action == "exit":
        raise SystemExit(3)
    if action.startswith("dup-") and action.removeprefix("dup-") == run.status:
        _deliver_twice(run)
    if action == "wait":
        deadline = time.monotonic() + 60
        while not run.stop.wait(0.05) and time.monotonic() < deadline:
            if not run.store.client.exists(f"{run.settings.key_prefix}:hold"):
                break
    trail = ctx.setdefault("artifacts", {})
    trail[run.status] = run.task_id  # handed to the next stage through the job context
    ctx["result"] = {
        "ran": run.status,
        "url": ctx.get("url"),
        "trail": trail,
        "delivery": run.delivery,
    }
    return ctx


def _history_has(run: StageRun, kind: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["kind"] == kind for e in run.store.history(run.job_id)):
            return True
        time.sleep(0.02)  # polling the store from inside a worker: no other event to wait on
    return False


def _deliver_twice(run: StageRun) -> None:
    """The stage's own message is published again, so two deliveries run at once.

    Delivery 1 publishes the duplicate (same arguments, same task id, as a broker
    redelivering after a visibility timeout would) and goes on once delivery 2 has
    started; delivery 2 waits until delivery 1's hand-off was refused, so the refusal is
    always observed, whichever process the broker picks.
    """
    from celery import current_task

    if run.delivery == 1:
        request = current_task.request
        current_task.apply_async(args=request.args, task_id=request.id)
        _history_has(run, "redelivered")
    else:
        _history_has(run, "duplicate")


def _bind(app: Celery, settings: Settings) -> Celery:
    """What any deployment adds to the README's app: where the broker is."""
    app.conf.update(
        broker_url=settings.broker,
        result_backend=settings.results,
        task_default_queue=settings.queue,
        jobstate_settings=settings,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


def readme_app(settings: Settings) -> Celery:
    """The README's app: ``Celery("mine")``, a ``Tracker`` and one decorated stage."""
    app = Celery("mine", set_as_current=False)
    tracker = Tracker(app, FLOW)

    @tracker.stage("WORK")
    def work(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        return behave(ctx, run)

    return _bind(app, settings)


def readme_app_no_redelivery(settings: Settings) -> Celery:
    """The README's app with the stage opting out of late acks (Celery's default)."""
    app = Celery("mine", set_as_current=False)
    tracker = Tracker(app, FLOW)
    tracker.stage("WORK", acks_late=False, reject_on_worker_lost=False)(behave)
    return _bind(app, settings)


def _register(**options: Any) -> Any:
    def register(tracker: Tracker) -> None:
        for status in tracker.workflow.stages:
            tracker.stage(status, name=f"g.{status.lower()}", **options)(behave)

    return register


def prd_app(settings: Settings) -> Celery:
    """``create_app`` (the reference pipeline's config) with behaving stages."""
    return create_app(settings, register=_register())


def prd_app_no_redelivery(settings: Settings) -> Celery:
    """``create_app`` whose stages opt out of late acks."""
    return create_app(settings, register=_register(acks_late=False, reject_on_worker_lost=False))


def _any_object(data: dict[str, Any]) -> dict[str, Any]:
    """Any JSON object (the write gate alone decides)."""
    return data


DOORS = Workflow(
    name="doors",
    statuses={"NEW": "Queued", "WORK": "Working", "DONE": "Done", "FAILED": "Failed"},
    initial="NEW",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={"NEW": {"WORK"}, "WORK": {"DONE"}},
    stages=("WORK",),
    input=JobInput(check=_any_object),
)
"""A workflow whose jobs take any JSON object, so hostile inputs reach every door."""


POISONS: dict[str, Any] = {
    "surrogate": "a\ud800b",
    "nan": float("nan"),
    "huge-int": 10**5000,
    "not-json": {1, 2},
    "big": "A" * 100_000,
}


def echo(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Write the job's input back, ``depth`` containers deeper, as progress (plain, then
    with each of its ``poison`` names added) with its ``say`` as the message, and as the
    result; raise with its ``raise`` text if it has one."""
    spec = ctx["input"]
    depth = spec.get("depth") if isinstance(spec.get("depth"), int) else 0
    value = nest(spec, min(max(depth, 0), 5000))
    say = spec.get("say") if isinstance(spec.get("say"), str) else None
    for poison in [None, *spec.get("poison", [])]:
        with contextlib.suppress(ValidationError):  # the gate refused it: go on
            run.progress(_poisoned(value, poison), message=say)
    if isinstance(spec.get("raise"), str):
        raise RuntimeError(spec["raise"])
    ctx["result"] = value
    return ctx


def _poisoned(value: Any, poison: Any) -> Any:
    if poison == "surrogate-key":
        return {"\udfff": 1, "v": value}
    return value if poison not in POISONS else {"v": value, "x": POISONS[poison]}


def doors_app(settings: Settings) -> Celery:
    """A README-style app on :data:`DOORS` whose one stage is :func:`echo`."""
    app = Celery("doors", set_as_current=False)
    Tracker(app, DOORS).stage("WORK", name="g.doors.work")(echo)
    return _bind(app, settings)


def _needs_need(data: dict[str, Any]) -> dict[str, Any]:
    """Any JSON object with a ``need`` key, checked the careless way (a KeyError)."""
    data["need"]  # the KeyError is the point: a check written carelessly
    return data


PICKY = Workflow(
    name="picky",
    statuses=dict(DOORS.statuses),
    initial="NEW",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={"NEW": {"WORK"}, "WORK": {"DONE"}},
    stages=("WORK",),
    input=JobInput(check=_needs_need),
)
"""A workflow whose input check raises ``KeyError`` for an input without ``need``."""


def picky_app(settings: Settings) -> Celery:
    """A README-style app on :data:`PICKY`."""
    app = Celery("picky", set_as_current=False)
    Tracker(app, PICKY).stage("WORK", name="g.picky.work")(echo)
    return _bind(app, settings)
