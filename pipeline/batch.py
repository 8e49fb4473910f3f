"""Many writes in a few round trips: the store's own scripts queued on one pipeline."""

from __future__ import annotations

from typing import Any

from pipeline.records import decode
from pipeline.store import JobStore, Write

__all__ = ["Batch", "BatchFailed"]


class BatchFailed(RuntimeError):
    """A queued write was refused; the message shows the first refusals."""


class Batch(JobStore):
    """A :class:`JobStore` whose writes queue instead of running: ``Batch(store)``.

    Every write method returns a placeholder :class:`Write` (version 0) until
    :meth:`flush` runs the queued scripts and checks each succeeded. In cluster mode
    :meth:`flush` then updates the cross-job indexes, as the store does after each write.
    Reads are not queued: they see what has been flushed.
    """

    def __init__(self, store: JobStore) -> None:
        super().__init__(store.client, store.workflow, store.settings)
        self._pipe = store.client.pipeline(transaction=False)
        self._queued: list[tuple[str, str]] = []
        if store.settings.cluster:  # cluster pipelines cannot load a script on NOSCRIPT
            for script in self._scripts.values():
                store.client.script_load(script.script)

    def _execute(
        self, op: str, job_id: str, keys: list[str], argv: list[Any], attempt: int
    ) -> Write:
        script = self._scripts[op]
        if self.settings.cluster:  # cluster pipelines only take EVALSHA as a raw command
            self._pipe.execute_command(  # type: ignore[no-untyped-call,unused-ignore]
                "EVALSHA", script.sha, len(keys), *keys, *argv
            )
        else:
            script(keys=keys, args=argv, client=self._pipe)
        self._queued.append((op, job_id))
        return Write(job_id, 0, "", 0, 0)

    @property
    def pending(self) -> int:
        """How many writes are queued."""
        return len(self._queued)

    def flush(self) -> int:
        """Run the queued writes; raise :class:`BatchFailed` unless all were OK.

        Returns how many ran.
        """
        replies = [decode(r) for r in self._pipe.execute()]
        bad = [r for r in replies if not r.startswith("OK\t")]
        if bad:
            raise BatchFailed(f"{len(bad)} batched writes refused, e.g. {bad[:3]}")
        queued, self._queued = self._queued, []
        if self.settings.cluster:
            for (op, job_id), reply in zip(queued, replies, strict=True):
                self._reply(op, job_id, reply.split("\t"), 0)
        return len(replies)
