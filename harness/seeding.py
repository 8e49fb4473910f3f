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
    In cluster mode :meth:`flush` then updates the cross-job indexes, as the store does.
    """

    def __init__(self, store: JobStore) -> None:
        super().__init__(store.client, store.workflow, store.settings)
        self._pipe = store.client.pipeline(transaction=False)
        self._queued: list[tuple[str, str]] = []
        if store.settings.cluster:  # cluster pipelines cannot load a script on NOSCRIPT
            for script in self._scripts.values():
                store.client.script_load(script.script)

    def _run(
        self,
        op: str,
        job_id: str,
        args: Sequence[Any],
        extra: Sequence[str] = (),
        attempt: int = 0,
    ) -> Write:
        keys = self._keys(job_id, *extra)
        script, argv = self._scripts[op], [*self._common, *args]
        if self.settings.cluster:  # cluster pipelines only take EVALSHA as a raw command
            self._pipe.execute_command(  # type: ignore[no-untyped-call,unused-ignore]
                "EVALSHA", script.sha, len(keys), *keys, *argv
            )
        else:
            script(keys=keys, args=argv, client=self._pipe)
        self._queued.append((op, job_id))
        return Write(job_id, 0, "", 0, 0)

    def flush(self) -> int:
        """Run the queued writes; raise :class:`SeedingFailed` unless all were OK."""
        replies = [decode(r) for r in self._pipe.execute()]
        bad = [r for r in replies if not r.startswith("OK\t")]
        if bad:
            raise SeedingFailed(f"{len(bad)} seeding writes refused, e.g. {bad[:3]}")
        queued, self._queued = self._queued, []
        if self.settings.cluster:
            for (op, job_id), reply in zip(queued, replies, strict=True):
                self._reply(op, job_id, reply.split("\t"), 0)
        return len(replies)
