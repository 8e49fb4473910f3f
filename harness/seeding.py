"""Seed many jobs fast with exactly the writes the store makes (no pytest import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.records import decode
from pipeline.store import JobStore, Write

__all__ = ["BatchStore", "SeedingFailed"]


class SeedingFailed(RuntimeError):
    """A queued write was refused; the message shows the first refusals."""


class BatchStore(JobStore):
    """Queues the store's own scripts on a pipeline instead of running each one.

    Seeds thousands of jobs in a few round trips; every write method returns a
    placeholder :class:`Write` until :meth:`flush` runs them and checks each succeeded.
    """

    def __init__(self, store: JobStore) -> None:
        if store.settings.cluster:
            raise ValueError("cluster stores index after each script: they cannot batch")
        super().__init__(store.client, store.workflow, store.settings)
        self._pipe = store.client.pipeline(transaction=False)

    def _run(
        self,
        op: str,
        job_id: str,
        args: Sequence[Any],
        extra: Sequence[str] = (),
        attempt: int = 0,
    ) -> Write:
        keys = self._keys(job_id, *extra)
        self._scripts[op](keys=keys, args=[*self._common, *args], client=self._pipe)
        return Write(job_id, 0, "", 0, 0)

    def flush(self) -> int:
        """Run the queued writes; raise :class:`SeedingFailed` unless all were OK."""
        replies = [decode(r) for r in self._pipe.execute()]
        bad = [r for r in replies if not r.startswith("OK\t")]
        if bad:
            raise SeedingFailed(f"{len(bad)} seeding writes refused, e.g. {bad[:3]}")
        return len(replies)
