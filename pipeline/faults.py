"""Fault injection at a named stage: fail, hang, kill, exit, time out, exhaust memory.

The plan lives in Redis (under the store's prefix) so it reaches every worker process.
Nothing on the stage path looks at it: a process opts in by installing :func:`fault_hook`
with :func:`pipeline.tracking.add_stage_hook` (the test harness does so for in-process
workers; ``jobstate worker --faults`` or ``JOBSTATE_FAULTS=1`` does so for a worker).

The kinds are the task terminations Celery's own smoke suite uses, and more:

- ``fail``: raise :class:`InjectedFault` as the stage starts;
- ``raise``: raise :class:`InjectedFault` *inside* the stage's own work: from the first
  call the stage function makes (or as it returns, when it makes none), so a stage that
  catches every exception catches this one too, as it would a real failure;
- ``unreadable``: the same, with an exception whose text cannot be read (``str()`` of it
  raises): describing the error must not stop it from being written;
- ``duplicate``: send the running stage's own message once more (same task id, same
  arguments), so a second delivery runs beside the first, as after a broker redelivery;
- ``hang``: block until the fault is cleared (or the soft time limit interrupts it);
- ``kill``: the prefork child SIGKILLs itself (a child lost mid-stage);
- ``exit``: raise ``SystemExit`` in the stage;
- ``timeout``: block past the hard time limit, ignoring the soft one, so the pool
  kills the child (prefork only: other pools have no hard limit);
- ``memory``: lower the child's address-space limit (``RLIMIT_AS``) to a little above
  what it uses and allocate until it is exhausted: the stage fails with ``MemoryError``,
  then the limit is put back (prefork only: the limit is per process).

A hang or time-out keeps blocking while Redis is unreachable: the fault never fails a
stage by itself losing its connection.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from pipeline.records import decode

if TYPE_CHECKING:
    from pipeline.tracking import StageRun

__all__ = [
    "FAULT_KINDS",
    "RAISED_INSIDE",
    "FaultPlan",
    "InjectedFault",
    "UnreadableFault",
    "enabled",
    "fault_hook",
    "inside_error",
    "raise_inside_stage",
]

FAULT_KINDS = (
    "fail",
    "raise",
    "unreadable",
    "duplicate",
    "hang",
    "kill",
    "exit",
    "timeout",
    "memory",
)

POLL_SECONDS = 0.05
TIMEOUT_GRACE_SECONDS = 30.0
"""How long a ``timeout`` fault blocks beyond the hard limit before giving up on it."""
MEMORY_HEADROOM = 32 * 1024 * 1024
MEMORY_CHUNK = 1024 * 1024
RAISED_INSIDE = frozenset({"raise", "unreadable"})
"""Kinds raised from inside the stage's own work rather than around it."""


class InjectedFault(RuntimeError):
    """The failure a test asked for at a stage."""


class UnreadableFault(InjectedFault):
    """An injected failure whose text cannot be read: ``str()`` and ``repr()`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("this error's text cannot be read")

    def __repr__(self) -> str:
        raise RuntimeError("this error's text cannot be read")


def enabled() -> bool:
    """Whether a worker started here should install :func:`fault_hook` (``JOBSTATE_FAULTS=1``)."""
    return os.environ.get("JOBSTATE_FAULTS") == "1"


def fault_hook(run: StageRun) -> None:
    """Stage hook: apply the fault armed for ``run``'s stage, if any."""
    FaultPlan(run.store.client, run.settings.key_prefix).apply(
        run.status, run.stop, time_limit=run.settings.stage_time_limit
    )


def _in_pool_child() -> bool:
    from billiard.process import current_process

    return current_process().name.startswith("ForkPoolWorker")


class FaultPlan:
    """Faults keyed by stage status; each fires a limited number of times."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.key = f"{prefix}:faults"

    def set(self, stage: str, kind: str, times: int = 1) -> None:
        """Arm ``kind`` at ``stage`` for the next ``times`` runs of that stage."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        self.client.hset(self.key, mapping={stage: kind, f"{stage}:left": times})

    def clear(self, stage: str | None = None) -> None:
        """Disarm one stage's fault, or all of them (also releases hung stages)."""
        if stage is None:
            self.client.delete(self.key)
        else:
            self.client.hdel(self.key, stage, f"{stage}:left")

    def take(self, stage: str) -> str | None:
        """The fault to apply now at ``stage`` (decrementing its remaining count).

        Each fault taken is counted in :meth:`fired`, which outlives :meth:`clear`.
        """
        kind = self.client.hget(self.key, stage)
        if kind is None:
            return None
        if self.client.hincrby(self.key, f"{stage}:left", -1) < 0:
            return None
        self.client.hincrby(f"{self.key}:fired", stage, 1)
        return decode(kind)

    def fired(self, stage: str) -> int:
        """How many times a fault armed at ``stage`` has been taken by a run of it."""
        value = self.client.hget(f"{self.key}:fired", stage)
        return int(value) if value is not None else 0

    def armed(self, stage: str) -> bool:
        """Whether ``stage`` still has a fault set (used to keep a hang going).

        While Redis cannot be reached the fault counts as still set.
        """
        try:
            return bool(self.client.hexists(self.key, stage))
        except (redis.ConnectionError, redis.TimeoutError):
            return True

    def apply(
        self, stage: str, stop: threading.Event | None = None, *, time_limit: float = 0
    ) -> None:
        """Apply the armed fault for ``stage``, if any.

        ``time_limit`` is the stage's hard time limit (what ``timeout`` outlasts).
        """
        kind = self.take(stage)
        if kind in RAISED_INSIDE:
            raise_inside_stage(inside_error(kind, stage))
        elif kind is not None:
            self.act(kind, stage, stop, time_limit=time_limit)

    def act(
        self,
        kind: str,
        stage: str,
        stop: threading.Event | None = None,
        *,
        time_limit: float = 0,
    ) -> None:
        """Do fault ``kind`` here and now, in the code running ``stage`` (a fault already
        taken; the kinds raised inside the work are :func:`inside_error`'s)."""
        stop = stop or threading.Event()
        if kind in RAISED_INSIDE:
            raise inside_error(kind, stage)
        if kind == "fail":
            raise InjectedFault(f"injected failure at {stage}")
        if kind == "duplicate":
            _send_again()
        if kind == "exit":
            raise SystemExit(f"injected exit at {stage}")
        if kind == "hang":
            self._hang(stage, stop)
        if kind in {"kill", "timeout", "memory"} and not _in_pool_child():
            raise InjectedFault(f"{kind} at {stage} needs a prefork worker child")
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "timeout":
            self._outlast(stage, stop, time_limit + TIMEOUT_GRACE_SECONDS)
        if kind == "memory":
            _exhaust_memory()

    def _hang(self, stage: str, stop: threading.Event) -> None:
        # Hang until the test clears the fault (or the soft time limit interrupts us).
        while self.armed(stage) and not stop.wait(POLL_SECONDS):
            pass

    def _outlast(self, stage: str, stop: threading.Event, seconds: float) -> None:
        # A stage that swallows the soft limit: only the hard limit (the pool killing this
        # child) ends it. Bounded, and released when the test clears the fault.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if not self.armed(stage) or stop.wait(POLL_SECONDS):
                    return
            except SoftTimeLimitExceeded:
                continue

    def describe(self) -> dict[str, Any]:
        """The plan as stored (for reports)."""
        return {decode(k): decode(v) for k, v in self.client.hgetall(self.key).items()}


def inside_error(kind: str, stage: str) -> InjectedFault:
    """The exception a ``raise`` or ``unreadable`` fault throws inside ``stage``'s work."""
    if kind == "unreadable":
        return UnreadableFault()
    return InjectedFault(f"injected failure inside {stage}")


def raise_inside_stage(exc: BaseException) -> None:
    """Raise ``exc`` inside the stage function this thread runs next.

    Called from a stage hook, just before the tracker calls the stage function: a trace
    function finds that function's frame and raises ``exc`` from the first call it makes
    (so the stage's own ``try``/``except`` sees it, as it would a failing dependency), or
    as it returns when it makes no call. Tracing stops as soon as it has fired.
    """
    from pipeline.tracking import Tracker

    runner = Tracker.run_stage.__code__
    stage: list[FrameType] = []

    def at_return(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            sys.settrace(None)
            raise exc
        return at_return

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        if not stage:
            if frame.f_back is not None and frame.f_back.f_code is runner:
                stage.append(frame)
                return at_return
            return None
        if frame.f_back is stage[0]:
            sys.settrace(None)
            raise exc
        return None

    sys.settrace(tracer)


def _send_again() -> None:
    """Send the running task's message once more: same task id, same arguments."""
    from celery import current_task

    task = current_task
    if task is None:
        raise InjectedFault("duplicate needs a running Celery task")
    request = task.request
    # What a broker's second delivery carries: the same id, ancestry and continuation
    # (a plain Celery chain's next tasks travel inside the message).
    options: dict[str, Any] = {
        "task_id": request.id,
        "root_id": request.root_id,
        "parent_id": request.parent_id,
    }
    if request.chain:
        options["chain"] = request.chain
    if request.callbacks:
        options["link"] = request.callbacks
    if request.errbacks:
        options["link_error"] = request.errbacks
    if request.delivery_info:
        routing = request.delivery_info.get("routing_key")
        if routing:
            options["queue"] = routing
    task.apply_async(args=tuple(request.args or ()), kwargs=dict(request.kwargs or {}), **options)


def _address_space() -> int:
    """This process's virtual memory size in bytes (``VmSize``)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _exhaust_memory() -> None:
    """Allocate until a lowered address-space limit is hit, then put the limit back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    hoard: list[bytearray] = []
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        while True:
            hoard.append(bytearray(MEMORY_CHUNK))
    finally:
        hoard.clear()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
