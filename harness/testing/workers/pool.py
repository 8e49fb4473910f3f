"""Real workers kept between tests, lent to one test at a time (no pytest here).

Starting a real worker costs 0.2 s (a thread) to 2 s (a prefork subprocess), and its
warm shutdown as much again. The pool keeps each worker it started, keyed by what makes
workers interchangeable (mode, app, pool size, settings apart from the test's scope),
and lends it to the next test that needs the same: the lease adds the test's own queue
to the worker (one remote-control round trip) and takes it away on release. Tasks carry
their test's scope (:mod:`harness.testing.workers.scoping`), so stores, files and faults stay per
test.

A worker that died, or that a test left in doubt (it failed), is killed on release and
replaced by the next lease; so is a kept worker that does not take the next test's queue.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from celery import Celery

__all__ = ["Lease", "PoolWorker", "WorkerPool", "WorkerPoolError"]

SERVE_TIMEOUT = 5.0
SERVE_ATTEMPTS = 3


class WorkerPoolError(RuntimeError):
    """A new worker did not take the test's queue."""


class PoolWorker(Protocol):
    """What the pool needs from a worker: its node name, liveness and a quick end."""

    @property
    def node(self) -> str:
        """The worker's remote-control node name."""
        ...

    @property
    def running(self) -> bool:
        """Whether the worker is alive."""
        ...

    def kill(self) -> None:
        """End the worker at once."""
        ...

    def close(self) -> None:
        """End the worker for good and release what it holds."""
        ...


def _end(worker: PoolWorker) -> None:
    """A quick end: nothing a pooled worker still runs belongs to a live test."""
    try:
        worker.kill()
    finally:
        worker.close()


def _exclusive(worker: PoolWorker) -> bool:
    return bool(getattr(worker, "exclusive", False))


@dataclass
class Lease:
    """One test's use of a pooled worker: ``worker`` consumes ``queue`` until released."""

    pool: WorkerPool
    key: Hashable
    worker: PoolWorker
    queue: str
    control: Celery
    released: bool = False

    def release(self, *, discard: bool = False) -> None:
        """Take the test's queue away and give the worker back (or kill it)."""
        if self.released:
            return
        self.released = True
        self.pool.give_back(self, discard=discard)


class WorkerPool:
    """Idle workers by key, least recently used first; at most ``keep`` are kept."""

    def __init__(self, keep: int = 2, log_dir: Path | None = None) -> None:
        self.keep = keep
        self.log_dir = log_dir
        """Where workers started for this pool write their logs (if they log to files)."""
        self._idle: OrderedDict[Hashable, PoolWorker] = OrderedDict()
        self.started = 0

    def lease(
        self,
        key: Hashable,
        make: Callable[[], PoolWorker],
        queue: str,
        control: Celery,
        *,
        exclusive: bool = False,
    ) -> Lease:
        """A worker for ``key`` consuming ``queue``: an idle one, else ``make()``'s.

        ``exclusive``: workers of this kind run one per process (Celery's worker state
        is process-wide), so other idle exclusive workers end before ``make()`` runs.
        """
        worker = self._idle.pop(key, None)
        if worker is not None and (not worker.running or not self._serve(worker, queue, control)):
            _end(worker)
            worker = None
        if worker is None:
            if exclusive:
                self._close_exclusive()
            worker = make()
            self.started += 1
            if not self._serve(worker, queue, control):
                _end(worker)
                raise WorkerPoolError(f"new worker {worker.node} did not take queue {queue}")
        return Lease(self, key, worker, queue, control)

    def _close_exclusive(self) -> None:
        for key, other in list(self._idle.items()):
            if _exclusive(other):
                del self._idle[key]
                _end(other)

    @staticmethod
    def _serve(worker: PoolWorker, queue: str, control: Celery) -> bool:
        # A reply can be late on a loaded machine; asking again is harmless (a worker
        # already consuming the queue answers "already consuming").
        for _ in range(SERVE_ATTEMPTS):
            replies = control.control.add_consumer(
                queue, destination=[worker.node], reply=True, timeout=SERVE_TIMEOUT
            )
            if replies:
                return True
            if not worker.running:
                return False
        return False

    def give_back(self, lease: Lease, *, discard: bool = False) -> None:
        """Called by :meth:`Lease.release`: keep the worker for the next test, or end it."""
        worker = lease.worker
        if discard or not worker.running:
            _end(worker)
            return
        lease.control.control.cancel_consumer(lease.queue, destination=[worker.node], reply=False)
        self._idle[lease.key] = worker
        self._idle.move_to_end(lease.key)
        while len(self._idle) > self.keep:
            _, oldest = self._idle.popitem(last=False)
            _end(oldest)

    def close(self) -> None:
        """End every idle worker."""
        while self._idle:
            _, worker = self._idle.popitem(last=False)
            _end(worker)
