"""Faults at the Celery task level, for any task, and a log of what Celery knew (no pytest).

Apps that keep their own job state have no tracker stages to hook, so the audit plants
its faults through Celery's own signals in the workers it starts: on ``task_prerun`` a
fault armed for the task's name (:func:`task_key` in the same
:class:`~pipeline.faults.FaultPlan` the stage faults use) is taken, and a trace function
waits for the task's own function to run:

- ``raise`` and ``unreadable`` are raised from the first call the task's function makes
  (or as it returns, when it makes none), so a task that catches every exception
  catches them, as it would a failing dependency;
- every other kind (``hang``, ``kill``, ``exit``, ``timeout``, ``duplicate``...) happens
  at the task's hand-off: at the first call its function makes after it sent a message
  (the next task), or as its function returns when it makes none (a chain's next task
  is sent by Celery after the return). Whatever the task wrote to its own store before
  that point is written; what it writes after is not yet.

Beside the faults, every task run is logged to a Redis stream: started, succeeded,
failed (with the exception's name: a lost child or a hard time limit is reported by
the worker's parent) or retried. That log is what Celery knew, which the audit holds
against the state the app's store shows.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

import redis
from celery import signals

from harness.adapter import TaskEvent
from pipeline.connection import redis_client
from pipeline.error_text import sanitise_error
from pipeline.faults import RAISED_INSIDE, FaultPlan, inside_error
from pipeline.records import decode
from pipeline.settings import Settings

__all__ = [
    "ARGS_CHARS",
    "TASK_FAULTS_ENV",
    "install_task_faults",
    "read_task_events",
    "task_code",
    "task_key",
    "task_log_key",
]

TASK_FAULTS_ENV = "JOBSTATE_TASK_FAULTS"
"""Set to ``1`` in a worker's environment to plant task-level faults and log task runs."""

ARGS_CHARS = 4000
"""How much of a task's arguments (as JSON) the log keeps."""

LOG_LENGTH = 10_000
"""The task log keeps about this many entries."""


def task_key(task_name: str) -> str:
    """The fault plan's key for faults at the task ``task_name``."""
    return f"task:{task_name}"


def task_log_key(prefix: str) -> str:
    """The Redis stream of task runs under the key prefix ``prefix``."""
    return f"{prefix}:celery-tasks"


def task_code(task: Any) -> CodeType:
    """The code object of the function a Celery task runs (``run``, decorators unwrapped)."""
    run = getattr(task, "run", task)
    run = getattr(run, "__func__", run)
    code: CodeType = inspect.unwrap(run).__code__
    return code


class _Planted:
    """One fault taken for one task run: fired once, from the trace function or from the
    task's hand-off, whichever comes first."""

    def __init__(self, code: CodeType, kind: str, fire: Callable[[], None]) -> None:
        self.code = code
        self.kind = kind
        self._fire = fire
        self.inside = False
        self.handed = False
        self.done = False

    def fire(self) -> None:
        if not self.done:
            self.done = True
            sys.settrace(None)
            self._fire()

    def handed_off(self) -> None:
        """The task sent a message (its next task): the fault happens at the next call
        the task's function makes (not inside the sending, which holds the producer)."""
        if self.inside:
            self.handed = True

    def tracer(self) -> Any:
        """A trace function that does the fault inside the frame running the task."""
        anchor: list[FrameType] = []

        def at_return(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "return":
                self.fire()
            return at_return

        def tracer(frame: FrameType, event: str, arg: Any) -> Any:
            if event != "call" or self.done:
                return None
            if not anchor:
                if frame.f_code is self.code:
                    anchor.append(frame)
                    self.inside = True
                    return at_return
                return None
            if frame.f_back is anchor[0] and (self.kind in RAISED_INSIDE or self.handed):
                self.fire()
            return None

        return tracer


class _TaskFaults:
    """The signal handlers of one worker process (built once per process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: redis.Redis | None = None
        self._pid = 0
        self._local = threading.local()

    @property
    def client(self) -> redis.Redis:
        # A prefork child must not share its parent's sockets.
        if self._client is None or self._pid != os.getpid():
            self._client = redis_client(self.settings, socket_timeout=5)
            self._pid = os.getpid()
        return self._client

    def plan(self) -> FaultPlan:
        return FaultPlan(self.client, self.settings.key_prefix)

    def on_prerun(self, task: Any = None, task_id: str = "", args: Any = (), **kw: Any) -> None:
        self.log("started", task, task_id, args, kw.get("kwargs"))
        name = str(getattr(task, "name", ""))
        plan = self.plan()
        kind = plan.take(task_key(name))
        if kind is None:
            return
        limit = float(getattr(task, "time_limit", None) or self.settings.stage_time_limit)

        def fire() -> None:
            if kind in RAISED_INSIDE:
                raise inside_error(kind, name)
            plan.act(kind, task_key(name), time_limit=limit)

        planted = self._local.planted = _Planted(task_code(task), kind, fire)
        sys.settrace(planted.tracer())

    def on_publish(self, **_: Any) -> None:
        planted = getattr(self._local, "planted", None)
        if planted is not None:
            planted.handed_off()

    def on_postrun(self, task: Any = None, task_id: str = "", state: str = "", **kw: Any) -> None:
        sys.settrace(None)  # a fault whose task never ran its function
        self._local.planted = None
        event = {"SUCCESS": "succeeded", "RETRY": "retried"}.get(state)
        if event:
            self.log(event, task, task_id, kw.get("args"), kw.get("kwargs"))

    def on_failure(
        self, sender: Any = None, task_id: str = "", exception: Any = None, **kw: Any
    ) -> None:
        error = sanitise_error(exception) if isinstance(exception, BaseException) else ""
        self.log("failed", sender, task_id, kw.get("args"), kw.get("kwargs"), error)

    def log(
        self, event: str, task: Any, task_id: str, args: Any, kwargs: Any, error: str = ""
    ) -> None:
        request = getattr(task, "request", None)
        root = getattr(request, "root_id", None) if getattr(request, "id", None) == task_id else ""
        try:
            text = json.dumps([args, kwargs], default=repr)[:ARGS_CHARS]
        except (TypeError, ValueError):
            text = repr([args, kwargs])[:ARGS_CHARS]
        entry = {
            "event": event,
            "task": str(getattr(task, "name", task)),
            "task_id": task_id or "",
            "root_id": root or "",
            "args": text,
            "error": error,
            "pid": os.getpid(),
            "at": time.time(),
        }
        # Redis down (a fault of the audit) leaves a gap in the log; the run goes on.
        with contextlib.suppress(redis.RedisError):
            self.client.xadd(
                task_log_key(self.settings.key_prefix),
                {k: str(v) for k, v in entry.items()},
                maxlen=LOG_LENGTH,
                approximate=True,
            )


_installed: list[_TaskFaults] = []
_lock = threading.Lock()


def install_task_faults(settings: Settings) -> None:
    """Plant task-level faults and log task runs in this worker process (once)."""
    with _lock:
        if _installed:
            return
        handlers = _TaskFaults(settings)
        _installed.append(handlers)
    signals.task_prerun.connect(handlers.on_prerun, weak=False)
    signals.task_postrun.connect(handlers.on_postrun, weak=False)
    signals.after_task_publish.connect(handlers.on_publish, weak=False)
    signals.task_failure.connect(handlers.on_failure, weak=False)


def read_task_events(client: redis.Redis, prefix: str) -> list[TaskEvent]:
    """Every task run the workers logged under ``prefix``, oldest first."""
    events = []
    entries: Any = client.xrange(task_log_key(prefix))
    for _id, fields in entries or ():
        data = {decode(k): decode(v) for k, v in (fields or {}).items()}
        events.append(
            TaskEvent(
                event=data["event"],
                task=data["task"],
                task_id=data["task_id"],
                root_id=data["root_id"],
                args=data["args"],
                error=data["error"],
                pid=int(data["pid"]),
                at=float(data["at"]),
            )
        )
    return events
