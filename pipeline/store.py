"""The job-state store: every write is one atomic Lua script, one round trip."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import redis

from pipeline import validation as v
from pipeline.direct_calls import sync_direct_calls
from pipeline.errors import (
    InvalidTransition,
    JobExists,
    JobNotFound,
    StaleAttempt,
    StoreUnavailable,
    ValidationError,
)
from pipeline.job_input import encode_input
from pipeline.keys import Keys
from pipeline.lua import OPS, script_source
from pipeline.reading import history_entries, listable, redis_ms
from pipeline.records import decode, record_from_hash
from pipeline.settings import Settings
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["JobStore", "StageRunId", "Sweep", "Write"]


MAX_PROGRESS_JSON = 4096
MAX_RESULT_JSON = 1024 * 1024
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
"""What a call raises when Redis cannot answer it: gone, or silent past the socket timeout
(redis-py's ``TimeoutError`` is not a ``ConnectionError``). Both are ``StoreUnavailable``."""


StageRunId = tuple[str, int]
"""A stage run: its status and its delivery number (1 first, 2 after one redelivery...)."""


@dataclass(frozen=True)
class Write:
    """What a successful write left behind.

    ``reruns`` counts the deliveries of a redelivered stage (0 otherwise); ``skipped`` is
    a sweep candidate left alone (not due, or no longer in the swept status); ``existed``
    is False when :meth:`JobStore.clear_state` found nothing to delete.
    """

    job_id: str
    version: int
    status: str
    attempt: int
    ms: int
    reruns: int = 0
    skipped: bool = False
    existed: bool = True


class Sweep(StrEnum):
    """The store's sweeps of one job at a time (:meth:`JobStore.sweep`)."""

    MARK_STALE = "mark_stale"
    """A running job silent for ``older_than`` s moves to the error status."""
    PURGE = "purge"
    """A job in the error status for ``older_than`` s is deleted."""
    ARCHIVE = "archive"
    """A job completed ``older_than`` s ago moves to the archive."""


class JobStore:
    """Atomic job state in Redis for one :class:`Workflow`.

    ``client`` is any redis-py client (decoding or not). In ``cluster`` mode the
    cross-job indexes are updated after each script instead of inside it, because on
    Redis Cluster they live in other slots; the sweeps re-check every candidate against
    the job's own record, so a lagging index never causes a wrong decision.
    """

    def __init__(
        self,
        client: redis.Redis,
        workflow: Workflow = PRD_WORKFLOW,
        settings: Settings | None = None,
    ) -> None:
        self.client = client
        self.workflow = workflow
        self.settings = settings or Settings.from_env()
        self.keys = Keys(self.settings.key_prefix)
        self.redactor = self.settings.redactor
        self._shown: dict[str, Any] = {
            "redactor": self.redactor,
            "mirrored": workflow.input.metadata_keys,
        }
        self._scripts = {op: client.register_script(script_source(workflow, op)) for op in OPS}
        self._direct = sync_direct_calls(client)
        self._indexes = [] if self.settings.cluster else self.keys.indexes()
        self._common: list[Any] = [
            self.keys.channel,
            self.settings.history_maxlen,
            self.settings.retention_seconds,
        ]

    # -- plumbing -------------------------------------------------------------------

    def _keys(self, job_id: str, *extra: str) -> list[str]:
        return [self.keys.state(job_id), self.keys.history(job_id), *self._indexes, *extra]

    def _run(
        self,
        op: str,
        job_id: str,
        args: Sequence[Any],
        extra: Sequence[str] = (),
        attempt: int = 0,
    ) -> Write:
        return self._execute(
            op, job_id, self._keys(job_id, *extra), [*self._common, *args], attempt
        )

    def _execute(
        self, op: str, job_id: str, keys: list[str], argv: list[Any], attempt: int
    ) -> Write:
        """Run one write script now (:class:`pipeline.batch.Batch` queues it instead)."""
        try:
            reply = self._eval(op, keys, argv)
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc
        return self._reply(op, job_id, decode(reply).split("\t"), attempt)

    def _eval(self, op: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA straight away (the hot path, on a direct connection when the client has
        one pool); load the script only when Redis lacks it."""
        script = self._scripts[op]
        try:
            if self._direct is not None:
                return self._direct.call("EVALSHA", script.sha, len(keys), *keys, *args)
            return self.client.evalsha(script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return script(keys=keys, args=args)

    def _reply(self, op: str, job_id: str, reply: list[str], attempt: int) -> Write:
        if reply[0] != "OK":
            return self._not_ok(job_id, reply, attempt)
        write = Write(job_id, int(reply[1]), reply[2], int(reply[3]), int(reply[4]))
        if len(reply) > 5:  # ``name value`` pairs after the usual four
            tail = dict(zip(reply[5::2], reply[6::2], strict=False))
            write = replace(
                write, reruns=int(tail.get("rerun", 0)), existed=tail.get("absent") != "1"
            )
        if self.settings.cluster:
            self._reindex(op, write)
        return write

    @staticmethod
    def _not_ok(job_id: str, reply: list[str], attempt: int) -> Write:
        """A skipped sweep candidate, or the typed error for a refused write."""
        code = reply[0]
        if code == "SKIP":
            return Write(job_id, int(reply[1]), reply[2], 0, 0, skipped=True)
        if code == "ERR_NOTFOUND":
            raise JobNotFound(job_id)
        if code == "ERR_EXISTS":
            raise JobExists(job_id)
        if code == "ERR_STALE":
            raise StaleAttempt(job_id, attempt, int(reply[1]))
        if code == "ERR_TRANSITION":
            raise InvalidTransition(job_id, reply[1], reply[2], reply[3])
        raise RuntimeError(f"unexpected reply from the store script: {reply!r}")

    def _reindex(self, op: str, w: Write) -> None:
        """Cluster mode: bring the cross-job indexes in line after a write."""
        k, wf = self.keys, self.workflow
        pipe = self.client.pipeline(transaction=False)
        if op == "create":
            pipe.zadd(k.jobs, {w.job_id: w.ms})
        if op in {"purge", "archive", "clear"}:
            for key in k.indexes():
                pipe.zrem(key, w.job_id)
            if op == "archive":
                pipe.zadd(k.archive, {w.job_id: w.ms})
        elif w.status in wf.terminal:
            pipe.zrem(k.running, w.job_id)
            pipe.zadd(k.errored if w.status == wf.error else k.completed, {w.job_id: w.ms})
        else:
            pipe.zadd(k.running, {w.job_id: w.ms})
            pipe.zrem(k.errored, w.job_id)
        pipe.execute()

    # -- writes ---------------------------------------------------------------------

    def create(
        self,
        job_input: str | Mapping[str, Any],
        *,
        job_id: str | None = None,
        space_id: str | None = None,
        task_id: str | None = None,
        message: str | None = None,
    ) -> Write:
        """Create a job in the initial status with its input; :class:`JobExists` on a reused id.

        ``job_input`` is the JSON object the workflow's ``input`` declares; a string is the
        reference pipeline's shorthand for ``{"url": job_input, "space_id": space_id}``.
        Bad input raises :class:`ValidationError` naming the field, and nothing is written.
        """
        job_id = v.check_job_id(uuid.uuid4().hex if job_id is None else job_id)
        data = self.check_input(job_input, space_id)
        mirrored = self.workflow.input.metadata_keys
        meta = v.check_metadata(
            {
                "url": data.get("url", "") if "url" in mirrored else "",
                "space_id": data.get("space_id") if "space_id" in mirrored else None,
                "task_id": task_id,
            },
            require_url="url" in mirrored,
        )
        msg = self._text(message, "message", v.MAX_MESSAGE)
        stored = encode_input(data).decode("utf-8")
        args = [job_id, meta["url"], meta["space_id"], meta["task_id"], msg, stored]
        return self._run("create", job_id, args)

    def check_input(
        self, job_input: str | Mapping[str, Any], space_id: str | None = None
    ) -> dict[str, Any]:
        """The job input as :meth:`create` would store it, or :class:`ValidationError`."""
        spec = self.workflow.input
        if not isinstance(job_input, Mapping):
            if "url" not in spec.keys:
                expected = ", ".join(sorted(spec.keys)) or "its own keys"
                raise ValidationError(
                    "input",
                    f"workflow {self.workflow.name!r} takes a JSON object ({expected}), "
                    f"not {type(job_input).__name__}",
                )
            job_input = {"url": job_input}
        if space_id is not None:
            job_input = {**job_input, "space_id": space_id}
        return spec.validate(job_input)

    def set_state(
        self,
        job_id: str,
        status: str,
        *,
        attempt: int = 0,
        message: str | None = None,
        error: str | None = None,
        task_id: str | None = None,
        progress: Any = None,
        result: Any = None,
        max_runs: int = 0,
        by: StageRunId | None = None,
    ) -> Write:
        """Move the job to ``status`` (the PRD's ``set_state``), atomically checked.

        ``attempt`` fences the write (0: unfenced, for operators). With ``max_runs`` > 0,
        asking for the job's current status counts a redelivered run instead of failing,
        and the run after ``max_runs`` turns the job into the error status.
        ``by`` names the stage run making the write, ``(status, delivery)``: for a result
        or an error its own stage, for a stage entry the run that handed off. A run that a
        newer delivery of its stage superseded, or a second hand-off, is refused
        (:class:`InvalidTransition`) and the refusal recorded as a ``duplicate`` history entry.
        """
        job_id = v.check_job_id(job_id)
        args = [
            v.check_attempt(attempt),
            v.check_status(self.workflow, status),
            self._text(message, "message", v.MAX_MESSAGE),
            self._text(error, "error", v.MAX_ERROR),
            v.check_task_id(task_id),
            self._json(progress, "progress", MAX_PROGRESS_JSON),
            self._json(result, "result", MAX_RESULT_JSON),
            max_runs,
            *self._by(by),
        ]
        if status == self.workflow.error and not args[3]:
            raise ValidationError("error", f"moving to {status} needs an error message")
        return self._run("transition", job_id, args, attempt=attempt)

    def fail(
        self,
        job_id: str,
        error: str,
        *,
        attempt: int = 0,
        stage: str | None = None,
        by: StageRunId | None = None,
    ) -> Write:
        """Move a running job to the error status with ``error`` (prefixed by ``stage``)."""
        text = f"{stage}: {error}" if stage else error
        return self.set_state(job_id, self.workflow.error, attempt=attempt, error=text, by=by)

    def progress(
        self,
        job_id: str,
        progress: Any,
        *,
        attempt: int = 0,
        status: str | None = None,
        message: str | None = None,
        run: int = 0,
    ) -> Write:
        """Record progress within the current status (fenced by attempt and ``status``;
        with ``run`` > 0 also by the delivery of ``status`` making it)."""
        job_id = v.check_job_id(job_id)
        expected = v.check_status(self.workflow, status) if status else ""
        args = [
            v.check_attempt(attempt),
            expected,
            self._json(progress, "progress", MAX_PROGRESS_JSON),
            self._text(message, "message", v.MAX_MESSAGE),
            _check_run(run),
        ]
        return self._run("progress", job_id, args, attempt=attempt)

    def heartbeat(
        self, job_id: str, *, attempt: int = 0, status: str | None = None, run: int = 0
    ) -> Write:
        """Mark the job alive (no version bump, no history entry); fenced like progress."""
        job_id = v.check_job_id(job_id)
        expected = v.check_status(self.workflow, status) if status else ""
        args = [v.check_attempt(attempt), expected, _check_run(run)]
        return self._run("heartbeat", job_id, args, attempt=attempt)

    def retry(self, job_id: str, *, attempt: int = 0, message: str | None = None) -> Write:
        """Start a new attempt from the error status (only from there); atomic."""
        job_id = v.check_job_id(job_id)
        args = [v.check_attempt(attempt), self._text(message, "message", v.MAX_MESSAGE)]
        return self._run("retry", job_id, args, attempt=attempt)

    def clear_state(self, job_id: str) -> bool:
        """Delete the job and its history (the PRD's ``clear_state``). True if it existed."""
        job_id = v.check_job_id(job_id)
        return self._run("clear", job_id, [job_id]).existed

    def sweep(self, sweep: Sweep, job_id: str, older_than: float, arg: str) -> Write:
        """Apply one sweep to one job, re-checked inside Redis (a worker writing now wins).

        ``arg`` is the stale error text (:attr:`Sweep.MARK_STALE`), the status to purge
        (:attr:`Sweep.PURGE`) or the archive TTL in seconds (:attr:`Sweep.ARCHIVE`).
        The write is ``skipped`` when the job is not due: when it is not more than
        ``older_than`` s old by Redis' clock (its last sign of life for the stale sweep,
        its last change for the others); :class:`JobNotFound` when it is gone.
        """
        job_id = v.check_job_id(job_id)
        older_than = v.check_seconds(older_than, "older_than")
        extra: list[str] = []
        if sweep is Sweep.ARCHIVE:
            extra = [self.keys.archived(job_id), self.keys.archived_history(job_id)]
            if not self.settings.cluster:
                extra.append(self.keys.archive)
        return self._run(sweep.value, job_id, [older_than, arg, job_id], extra)

    # -- reads ----------------------------------------------------------------------

    def get_state(self, job_id: str, *, reveal_credentials: bool = False) -> dict[str, Any]:
        """The job's record (the PRD schema plus version, attempt, times, progress, result).

        Credentials are masked (:mod:`pipeline.redaction`); ``reveal_credentials`` returns
        the record as stored, for the code that hands the job to a worker (never for display).
        """
        job_id = v.check_job_id(job_id)
        raw = self._call(self.client.hgetall, self.keys.state(job_id))
        if not raw:
            raise JobNotFound(job_id)
        return record_from_hash(raw, reveal=reveal_credentials, job_id=job_id, **self._shown)

    def get_live_state(self, job_id: str, *, reveal_credentials: bool = False) -> dict[str, Any]:
        """:meth:`get_state` plus ``stale``: running yet silent for ``stale_after_seconds``.

        The record and Redis ``TIME`` come back in one round trip (this is the poll path).
        ``reveal_credentials`` as for :meth:`get_state`.
        """
        job_id = v.check_job_id(job_id)
        if self.settings.cluster:  # cluster pipelines refuse keyless commands such as TIME
            raw = self._call(self.client.hgetall, self.keys.state(job_id))
            sec, usec = self._call(self.client.time)
        else:
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(self.keys.state(job_id))
            pipe.time()
            raw, (sec, usec) = self._call(pipe.execute)
        if not raw:
            raise JobNotFound(job_id)
        fields = {decode(k): decode(val) for k, val in raw.items()}
        record = record_from_hash(fields, reveal=reveal_credentials, job_id=job_id, **self._shown)
        last = max(int(fields["updated_ms"]), int(fields["heartbeat_ms"]))
        now = redis_ms(sec, usec)
        record["stale"] = record["status"] not in self.workflow.terminal and (
            now - last > self.settings.stale_after_seconds * 1000
        )
        return record

    def find_state(self, job_id: str) -> dict[str, Any] | None:
        """Like :meth:`get_state` but ``None`` when the job does not exist."""
        try:
            return self.get_state(job_id)
        except JobNotFound:
            return None

    def get_archived(self, job_id: str) -> dict[str, Any]:
        """The record of an archived job (moved out of the live set by ``archive_completed``)."""
        job_id = v.check_job_id(job_id)
        raw = self._call(self.client.hgetall, self.keys.archived(job_id))
        if not raw:
            raise JobNotFound(job_id)
        return record_from_hash(raw, job_id=job_id, **self._shown)

    def history(self, job_id: str, *, archived: bool = False) -> list[dict[str, Any]]:
        """The job's recorded changes, oldest first: the newest ``history_maxlen`` of them
        (older ones are dropped as new ones are written)."""
        job_id = v.check_job_id(job_id)
        key = self.keys.archived_history(job_id) if archived else self.keys.history(job_id)
        entries = self._call(self.client.xrange, key)
        return history_entries(job_id, entries, self.redactor, keep=self.settings.history_maxlen)

    def list_jobs(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """The most recently created live jobs, newest first."""
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValidationError("limit", "must be 1-1000 with a non-negative offset")
        ids = [
            decode(x)
            for x in self._call(self.client.zrevrange, self.keys.jobs, offset, offset + limit - 1)
        ]
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.keys.state(job_id))
        records = self._call(pipe.execute) if ids else []
        gone = [j for j, raw in zip(ids, records, strict=True) if not raw]
        if gone:
            self._call(self.client.zrem, self.keys.jobs, *gone)
        shown = (listable(j, raw, **self._shown) for j, raw in zip(ids, records, strict=True))
        return [r for r in shown if r is not None]

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def now_ms(self) -> int:
        """Redis server time in milliseconds (the clock every record uses)."""
        sec, usec = self._call(self.client.time)
        return int(sec) * 1000 + int(usec) // 1000

    # -- helpers --------------------------------------------------------------------

    @staticmethod
    def _json(value: Any, field: str, limit: int) -> str:
        """Compact JSON of ``value`` ("" for None) through the write gate."""
        return "" if value is None else v.encode_json(value, field, limit)

    def _text(self, value: object, field: str, limit: int) -> str:
        """A message or error as stored: cleaned, capped, and with no credentials."""
        return v.shown_text(value, field, limit, self.redactor)

    def _by(self, by: StageRunId | None) -> list[Any]:
        if by is None:
            return ["", 0]
        status, run = by
        return [v.check_status(self.workflow, status), _check_run(run)]

    @staticmethod
    def _call(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc


def _check_run(run: object) -> int:
    """A stage's delivery number: 1 for the first, 2 for a redelivery...; 0 means unfenced."""
    if isinstance(run, bool) or not isinstance(run, int) or run < 0:
        raise ValidationError("run", f"{run!r} is not a non-negative integer")
    return run
