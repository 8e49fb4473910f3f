"""Fault injection: fail, hang or kill a worker at a named stage.

The plan lives in Redis (under the store's prefix) so it reaches every worker process.
Nothing on the stage path looks at it: a process opts in by installing :func:`fault_hook`
with :func:`pipeline.tracking.add_stage_hook` (the test harness does so for in-process
workers; ``jobstate worker --faults`` or ``JOBSTATE_FAULTS=1`` does so for a worker).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import redis

from pipeline.records import decode

if TYPE_CHECKING:
    from pipeline.tracking import StageRun

__all__ = ["FAULT_KINDS", "FaultPlan", "InjectedFault", "enabled", "fault_hook"]

FAULT_KINDS = ("fail", "hang", "kill")


class InjectedFault(RuntimeError):
    """The failure a test asked for at a stage."""


def enabled() -> bool:
    """Whether a worker started here should install :func:`fault_hook` (``JOBSTATE_FAULTS=1``)."""
    return os.environ.get("JOBSTATE_FAULTS") == "1"


def fault_hook(run: StageRun) -> None:
    """Stage hook: apply the fault armed for ``run``'s stage, if any."""
    FaultPlan(run.store.client, run.settings.key_prefix).apply(run.status, run.stop)


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
        """The fault to apply now at ``stage`` (decrementing its remaining count)."""
        kind = self.client.hget(self.key, stage)
        if kind is None:
            return None
        if self.client.hincrby(self.key, f"{stage}:left", -1) < 0:
            return None
        return decode(kind)

    def armed(self, stage: str) -> bool:
        """Whether ``stage`` still has a fault set (used to keep a hang going)."""
        return bool(self.client.hexists(self.key, stage))

    def apply(self, stage: str, stop: threading.Event | None = None) -> None:
        """Apply the armed fault for ``stage``, if any."""
        kind = self.take(stage)
        if kind == "fail":
            raise InjectedFault(f"injected failure at {stage}")
        if kind == "kill":
            if not _in_pool_child():
                raise InjectedFault(f"kill at {stage} needs a prefork worker child")
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "hang":
            self._hang(stage, stop or threading.Event())

    def _hang(self, stage: str, stop: threading.Event) -> None:
        # Hang until the test clears the fault (or the soft time limit interrupts us).
        while self.armed(stage) and not stop.wait(0.05):
            pass

    def describe(self) -> dict[str, Any]:
        """The plan as stored (for reports)."""
        return {decode(k): decode(v) for k, v in self.client.hgetall(self.key).items()}
