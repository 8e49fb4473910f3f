"""The settings checks made for each stage's task: acks, limits, redelivery, its queue.

Each reads the task's own options (a task option wins over ``app.conf``) and says, in
the fix, which line to add: the app setting when the app's value is wrong, the task's
option when only the task overrides a right app value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task
from celery.exceptions import QueueNotFound

from harness.testing.audit.report.card import Finding
from harness.testing.audit.settings import celery_facts as facts
from harness.testing.audit.settings.findings import finding
from pipeline.tracking import Tracker

__all__ = ["AppView", "Stage", "option_line", "redelivered_while_running", "stage_findings"]

DEFAULT_HARD_LIMIT = 660
"""The hard limit a fix suggests when the stage has no soft one to go by (our default)."""


@dataclass(frozen=True)
class AppView:
    """What the stage checks need to know about the app, read once."""

    app: Celery
    tracker: Tracker | None
    schemes: tuple[str, ...]
    redis: bool
    visibility: float
    visibility_set: bool
    worker_queues: tuple[str, ...]
    queues_given: bool


@dataclass(frozen=True)
class Stage:
    """A workflow stage and the Celery task that runs it (None when the app has none)."""

    status: str
    name: str
    task: Task[Any, Any] | None


def stage_findings(view: AppView, stages: list[Stage]) -> list[Finding]:
    """Every stage check for every stage (a stage without a task gets only ``stage-task``)."""
    found = [_stage_task(stage) for stage in stages]
    checks: tuple[Callable[[AppView, Stage], Finding], ...] = (
        _acks_late,
        _reject_on_worker_lost,
        _time_limits,
        _visibility,
        _queue,
    )
    for check in checks:
        found += [check(view, stage) for stage in stages if stage.task is not None]
    return found


def redelivered_while_running(visibility: float, hard_limit: float | None) -> bool:
    """True when kombu's Redis transport can deliver a stage's message again while the
    stage still runs: the stage has no hard time limit, or ``visibility`` is not longer
    than it.

    The bound, from kombu 5.7's ``QoS.restore_visible``: a message is restored when its
    score in ``unacked_index`` is at most ``now - visibility_timeout`` (``ZRANGE ...
    BYSCORE REV`` from that ceiling down to 0, both ends included). Its score is the time
    the worker took the message (``QoS.append``), which comes before the stage starts; the
    hard limit counts from the start, and the message is acknowledged only after the
    worker's parent has killed the child. So with ``visibility == hard_limit`` the message
    can be restored no later than the kill, before the acknowledgement: unsafe. One
    second longer covers what lies between those points (milliseconds, with one message
    reserved at a time: see the prefetch check), and the periodic scan only ever delays a
    restore, never brings it forward. The fix still suggests twice the limit.
    """
    return hard_limit is None or visibility <= hard_limit


def _task(stage: Stage) -> Task[Any, Any]:
    assert stage.task is not None  # stage_findings passes only stages with a task
    return stage.task


def option_line(view: AppView, stage: Stage, option: str) -> str:
    """The decorator line that sets ``option`` on the stage's own task."""
    if view.tracker is not None and stage.name in view.tracker.task_names:
        return f'@tracker.stage("{stage.status}", name="{stage.name}", {option})'
    return f'@app.task(name="{stage.name}", {option})'


def _stage_task(stage: Stage) -> Finding:
    if stage.task is not None:
        return finding(
            "stage-task",
            True,
            "error",
            "Stage has a task",
            f"{stage.status} runs as the Celery task {stage.name}, registered on the app.",
            task=stage.name,
        )
    named = f"the task {stage.name}, which the app does not register" if stage.name else "no task"
    return finding(
        "stage-task",
        False,
        "error",
        "Stage has no task",
        f"{stage.status} names {named}: no worker of this app can run it, so every job "
        "stops before it. The other stage checks skip it.",
        f'@tracker.stage("{stage.status}")  # on the function that runs it',
        task=stage.name,
    )


# -- acknowledgement ----------------------------------------------------------------------


def _acks_late(view: AppView, stage: Stage) -> Finding:
    name = stage.name
    if _task(stage).acks_late:
        return finding(
            "acks-late",
            True,
            "error",
            "Late acks",
            f"{name} is acknowledged after its stage ends (acks_late): if the worker dies "
            "mid-stage the message is still on the broker and the stage runs again.",
            task=name,
        )
    fix = (
        option_line(view, stage, "acks_late=True")
        if view.app.conf.task_acks_late
        else "app.conf.task_acks_late = True"
    )
    return finding(
        "acks-late",
        False,
        "error",
        "Acknowledged before the stage runs",
        f"{name} is acknowledged as it starts (acks_late is off). If its worker is "
        "killed, restarted or loses its machine mid-stage, the message is already gone "
        f"and nothing runs {stage.status} again: the job stays in {stage.status} until "
        "the stale sweep calls it an error, and work that a redelivery would have "
        "finished is lost.",
        fix,
        task=name,
    )


def _reject_on_worker_lost(view: AppView, stage: Stage) -> Finding:
    task, name = _task(stage), stage.name
    title = "Lost child redelivered"
    if not task.acks_late:
        return finding(
            "reject-on-worker-lost",
            True,
            "warning",
            title,
            f"Not judged: reject_on_worker_lost acts only on late-acknowledged tasks, and "
            f"{name} is acknowledged as it starts (see its acks-late finding).",
            task=name,
        )
    if task.reject_on_worker_lost or getattr(task, "retry_on_worker_lost", False):
        return finding(
            "reject-on-worker-lost",
            True,
            "warning",
            title,
            f"A prefork child killed while running {name} (the OOM killer, a SIGKILL) "
            "puts its message back on the queue: the stage runs again, up to the "
            "store's redelivery cap.",
            task=name,
        )
    fix = (
        option_line(view, stage, "reject_on_worker_lost=True")
        if view.app.conf.task_reject_on_worker_lost
        else "app.conf.task_reject_on_worker_lost = True"
    )
    return finding(
        "reject-on-worker-lost",
        False,
        "warning",
        "Lost child not redelivered",
        f"{name} acknowledges late but not when its child is lost: if a prefork child is "
        "killed mid-stage (the OOM killer, a SIGKILL) Celery acknowledges the message and "
        "reports WorkerLostError. The stage is not run again; the job ends in its error "
        "status (our Tracker writes it from the worker's parent) where a redelivery could "
        "have finished it.",
        fix,
        task=name,
    )


# -- time limits --------------------------------------------------------------------------


def _suggested_hard(soft: float | None) -> int:
    return int(soft) + 60 if soft else DEFAULT_HARD_LIMIT


def _time_limits(view: AppView, stage: Stage) -> Finding:
    name = stage.name
    hard, soft = facts.time_limits(_task(stage))
    conf = view.app.conf
    if hard is None:
        line = f"time_limit={_suggested_hard(soft)}"
        fix = (
            option_line(view, stage, line)
            if conf.task_time_limit
            else f"app.conf.task_time_limit = {_suggested_hard(soft)}"
        )
        return finding(
            "time-limits",
            False,
            "error",
            "No hard time limit",
            f"{name} has no hard time limit (task_time_limit, or the task's time_limit): "
            "a stage that hangs (a download that never ends, a deadlock) holds its worker "
            f"process for ever, and its heartbeat keeps the job looking alive in "
            f"{stage.status}, so the stale sweep never ends it.",
            fix,
            task=name,
        )
    if soft is None or soft >= hard:
        why = "no soft time limit" if soft is None else f"a soft limit ({soft:g} s) not below it"
        line = f"soft_time_limit={max(int(hard) - 60, 1)}"
        fix = (
            option_line(view, stage, line)
            if conf.task_soft_time_limit and conf.task_soft_time_limit < hard
            else f"app.conf.task_soft_time_limit = {max(int(hard) - 60, 1)}"
        )
        return finding(
            "time-limits",
            False,
            "warning",
            "No soft time limit",
            f"{name} has a hard time limit ({hard:g} s) but {why}: at the hard limit its "
            "child is killed without warning, so the stage cannot clean up or say what it "
            "was doing; the worker's parent writes a bare time-limit error instead.",
            fix,
            task=name,
        )
    return finding(
        "time-limits",
        True,
        "error",
        "Time limits",
        f"{name} gets a soft time limit of {soft:g} s (it can clean up and fail with its "
        f"own message) and a hard one of {hard:g} s (a hung stage frees its worker).",
        task=name,
    )


# -- redelivery while running -------------------------------------------------------------


def _visibility_text(view: AppView) -> str:
    source = "" if view.visibility_set else ", kombu's default: the app leaves it unset"
    return f"visibility_timeout ({view.visibility:g} s{source})"


def _visibility(view: AppView, stage: Stage) -> Finding:
    task, name = _task(stage), stage.name
    title = "Not redelivered while running"
    if not view.redis:
        return finding(
            "visibility-timeout",
            True,
            "info",
            title,
            "Not checked: the broker is not Redis (see broker-redis).",
            task=name,
        )
    if not task.acks_late:
        return finding(
            "visibility-timeout",
            True,
            "error",
            title,
            f"{name} is acknowledged as it starts, so its message is never restored "
            "while the stage runs (see its acks-late finding for what that costs).",
            task=name,
        )
    hard, _ = facts.time_limits(task)
    vt = _visibility_text(view)
    if not redelivered_while_running(view.visibility, hard):
        return finding(
            "visibility-timeout",
            True,
            "error",
            title,
            f"The broker's {vt} is longer than {name}'s hard time limit ({hard:g} s): "
            "the stage is killed, and its message acknowledged, before kombu's Redis "
            "transport would deliver the message again.",
            task=name,
        )
    trap = (
        "kombu's Redis transport puts a message left unacknowledged for longer than that "
        "back on the queue, so another worker runs the stage again while the first run is "
        "still going: the classic Celery + Redis duplicate-execution trap. The stage's "
        "work and its side effects (an upload, an e-mail, a charge) happen twice; our "
        "store lets only the newest run hand off. kombu looks for such messages about "
        f"every {facts.KOMBU_RESTORE_EVERY:g} s by default, so a short run that shows no "
        "duplicate proves nothing."
    )
    if hard is None:
        suggested = _suggested_hard(facts.time_limits(task)[1])
        line = f"app.conf.task_time_limit = {suggested}"
        if suggested >= view.visibility:
            line += f"\n{_visibility_line(suggested)}"
        return finding(
            "visibility-timeout",
            False,
            "error",
            "Redelivered while running",
            f"{name} has no hard time limit, so it can run longer than the broker's {vt}: " + trap,
            line,
            task=name,
        )
    return finding(
        "visibility-timeout",
        False,
        "error",
        "Redelivered while running",
        f"The broker's {vt} is not longer than {name}'s hard time limit ({hard:g} s): " + trap,
        _visibility_line(hard),
        task=name,
    )


def _visibility_line(hard: float) -> str:
    seconds = max(3600, 2 * int(hard))
    return (
        "app.conf.broker_transport_options = "
        f'{{**app.conf.broker_transport_options, "visibility_timeout": {seconds}}}'
    )


# -- the queue ----------------------------------------------------------------------------


def _queue(view: AppView, stage: Stage) -> Finding:
    task, name = _task(stage), stage.name
    read = ", ".join(repr(q) for q in view.worker_queues) or "none"
    try:
        queue = facts.sent_queue(view.app, task)
    except QueueNotFound as exc:
        return finding(
            "queue",
            False,
            "error",
            "Stage cannot be sent",
            f"Sending {name} fails: {exc} (task_routes names a queue that task_queues "
            "lacks, and task_create_missing_queues is off). The job stops before "
            f"{stage.status}.",
            "app.conf.task_create_missing_queues = True",
            task=name,
        )
    if queue in view.worker_queues:
        return finding(
            "queue",
            True,
            "error",
            "Sent where workers read",
            f"{name} is sent to the queue {queue!r}, which the workers read ({read}).",
            task=name,
        )
    workers = "the workers' -Q" if view.queues_given else "a worker started without -Q"
    if view.queues_given:
        fix = f"celery -A <your app module> worker -Q {','.join([*view.worker_queues, queue])}"
    else:
        queues = ", ".join(f'Queue("{q}")' for q in [*view.worker_queues, queue])
        fix = f"app.conf.task_queues = [{queues}]  # from kombu import Queue"
    return finding(
        "queue",
        False,
        "error",
        "Sent where no worker reads",
        f"{name} is sent to the queue {queue!r} (task_routes or the task's queue option), "
        f"but {workers} reads only {read}. Its messages wait there unread: every job stops "
        f"before {stage.status}, in the status before it, until the stale sweep (if it "
        "runs) calls the silent job an error.",
        fix,
        task=name,
    )
