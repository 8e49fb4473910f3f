"""The store's reads for an event loop: a poll in one round trip, ``redis.asyncio`` throughout.

:class:`LiveReads` reads what :class:`~pipeline.store.JobStore` writes and shows it through
the same gate (:mod:`pipeline.records`, :mod:`pipeline.reading`): every record redacted,
damaged values shown safely. Its poll (:meth:`LiveReads.poll`) takes the version tags the
caller already holds and, when the job has not changed, answers with the tag alone after
one small Redis read. The asyncio client is made per event loop on first use (one pool per
process under a server's single loop) and closed by :meth:`LiveReads.aclose`.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis

from pipeline import validation as v
from pipeline.async_client import POOL_SIZE, async_twin
from pipeline.direct_calls import DirectCalls, direct_calls
from pipeline.errors import JobNotFound, ValidationError
from pipeline.lua_read import read_source
from pipeline.reading import flag_stale, history_entries, listable, redis_ms
from pipeline.records import decode, record_from_hash
from pipeline.store import JobStore

__all__ = ["MAX_TAGS", "LiveReads", "Poll"]

MAX_TAGS = 8
"""Version tags one poll may name (a page names one)."""


ARCHIVED_FLAG = 2
"""The last part of an archived job's version tag (a live one's is 0, or 1 when stale)."""


@dataclass(frozen=True)
class Poll:
    """One poll's answer: the job's version tag, and its record unless the caller holds
    that version already (``record`` is ``None`` then)."""

    tag: str
    record: dict[str, Any] | None


class LiveReads:
    """Reads of ``store``'s jobs from an event loop (see the module docs).

    ``connect`` makes the asyncio client (default: the twin of the store's client,
    :func:`pipeline.async_client.async_twin`); it is called once per event loop.
    """

    def __init__(self, store: JobStore, connect: Callable[[], aredis.Redis] | None = None) -> None:
        self.store = store
        self._connect = connect or (lambda: async_twin(store.client))
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[aredis.Redis, DirectCalls | None]
        ] = weakref.WeakKeyDictionary()
        self._mirrored = store.workflow.input.metadata_keys
        self._source = read_source(store.workflow)
        self._sha = hashlib.sha1(self._source.encode()).hexdigest()  # noqa: S324 (Redis' name)
        self._sha_bytes = self._sha.encode()

    def _bound(self) -> tuple[aredis.Redis, DirectCalls | None]:
        loop = asyncio.get_running_loop()
        bound = self._clients.get(loop)
        if bound is None:
            client = self._connect()
            bound = self._clients[loop] = (client, direct_calls(client, POOL_SIZE))
        return bound

    @property
    def client(self) -> aredis.Redis:
        """This event loop's client (made on first use)."""
        return self._bound()[0]

    async def aclose(self) -> None:
        """Close this event loop's client and its connections (a later read reopens)."""
        bound = self._clients.pop(asyncio.get_running_loop(), None)
        if bound is not None:
            client, direct = bound
            if direct is not None:
                await direct.aclose()
            await client.aclose()

    # -- reads ----------------------------------------------------------------------

    async def poll(self, job_id: str, held: Iterable[str] = (), any_held: bool = False) -> Poll:
        """The job's version tag, and its record (with ``stale``) unless the tag is one
        of ``held`` (or ``any_held``: the caller holds some version of the job).

        One round trip; a job no longer live is looked for in the archive (one more, with
        ``archived`` set on its record); :class:`JobNotFound` for a job in neither.
        """
        job_id = v.check_job_id(job_id)
        tags = list(held)[:MAX_TAGS]
        stale_ms = int(self.store.settings.stale_after_seconds * 1000)
        args = [stale_ms, "*" if any_held else "", *tags]
        reply = await self._read(self.store.keys.state(job_id), args)
        if reply is None:
            return await self._archived(job_id, tags, any_held)
        tag = decode(reply[0])
        if len(reply) == 1:
            return Poll(tag, None)
        pairs = reply[2:]
        raw = dict(zip(pairs[::2], pairs[1::2], strict=True))
        record = record_from_hash(
            raw, redactor=self.store.redactor, mirrored=self._mirrored, job_id=job_id
        )
        record["stale"] = tag.endswith(".1")
        return Poll(tag, record)

    async def _archived(self, job_id: str, tags: builtins.list[str], any_held: bool) -> Poll:
        """The poll of an archived job: its record never changes, so its tag is the live
        one's with ``2`` in the stale flag's place (a caller holding it gets no body)."""
        raw = await self.client.hgetall(self.store.keys.archived(job_id))
        if not raw:
            raise JobNotFound(job_id)
        fields = {decode(k): decode(val) for k, val in raw.items()}
        record = record_from_hash(
            fields, redactor=self.store.redactor, mirrored=self._mirrored, job_id=job_id
        )
        tag = f"{fields['created_ms']}.{record['version']}.{ARCHIVED_FLAG}"
        if any_held or tag in tags:
            return Poll(tag, None)
        return Poll(tag, {**record, "stale": False, "archived": True})

    async def get(self, job_id: str) -> dict[str, Any]:
        """The job's record with ``stale`` (as :meth:`JobStore.get_live_state` shows it)."""
        record = (await self.poll(job_id)).record
        assert record is not None  # nothing was held, so the record came back
        return record

    async def history(self, job_id: str) -> builtins.list[dict[str, Any]]:
        """The job's recorded changes, oldest first: the newest ``history_maxlen`` of them
        (as :meth:`JobStore.history`); :class:`JobNotFound` for an unknown job. One round
        trip."""
        job_id = v.check_job_id(job_id)
        keys = self.store.keys
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(keys.history(job_id))
        pipe.exists(keys.state(job_id))
        entries, exists = await pipe.execute()
        if not entries and not exists:  # archived (one more round trip), or unknown
            pipe = self.client.pipeline(transaction=False)
            pipe.xrange(keys.archived_history(job_id))
            pipe.exists(keys.archived(job_id))
            entries, exists = await pipe.execute()
            if not entries and not exists:
                raise JobNotFound(job_id)
        keep = self.store.settings.history_maxlen
        return history_entries(job_id, entries, self.store.redactor, keep=keep)

    async def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` most recently created live jobs, newest first, each with
        ``stale``. Two round trips: the ids, then the records and Redis' time."""
        if not 1 <= limit <= 1000:
            raise ValidationError("limit", "must be 1-1000")
        store, client = self.store, self.client
        ids = [decode(x) for x in await client.zrevrange(store.keys.jobs, 0, limit - 1)]
        pipe = client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(store.keys.state(job_id))
        cluster = store.settings.cluster  # cluster pipelines refuse keyless commands
        if not cluster:
            pipe.time()
        replies = await pipe.execute() if ids or not cluster else []
        sec, usec = await client.time() if cluster else replies.pop()
        gone = [j for j, raw in zip(ids, replies, strict=True) if not raw]
        if gone:
            await client.zrem(store.keys.jobs, *gone)
        shown = [
            listable(j, raw, redactor=store.redactor, mirrored=self._mirrored)
            for j, raw in zip(ids, replies, strict=True)
        ]
        records = [r for r in shown if r is not None]
        wf = store.workflow
        return flag_stale(
            records, redis_ms(sec, usec), wf.terminal, store.settings.stale_after_seconds
        )

    async def healthy(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(await self.client.ping())
        except redis.RedisError:
            return False

    async def _read(self, key: str, args: builtins.list[Any]) -> Any:
        """EVALSHA straight away (the hot path, on a direct connection when the client has
        a pool); send the script only when Redis lacks it."""
        client, direct = self._bound()
        try:
            if direct is not None:
                return await direct.call(b"EVALSHA", self._sha_bytes, b"1", key, *args)
            return await client.evalsha(self._sha, 1, key, *args)
        except redis.exceptions.NoScriptError:
            return await client.eval(self._source, 1, key, *args)
