"""A Hypothesis state machine that checks any workflow's invariants against any store.

State machines cannot take pytest fixtures, so the machine is bound to a workflow and a
store *factory* (called once per example with the workflow), e.g. a fresh fake server::

    def test_store():
        run_machine(MY_WORKFLOW, lambda wf: JobStore(fakeredis.FakeRedis(), wf))

or, as a module-level ``unittest`` case::

    TestMyStore = machine_test_case(MY_WORKFLOW, lambda wf: JobStore(client, wf, settings))

The machine keeps a model of every job in Python and, after each step, checks the stored
record against it, that the history tells a legal story with consecutive versions, and
that terminal statuses stay terminal. Every rejected write is checked to change nothing.
Jobs are created with inputs drawn by :func:`harness.strategies.job_inputs` from the
workflow's declared input; pass ``inputs=`` (a strategy) when a key has a check of its own.
"""

from __future__ import annotations

import itertools
import json
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from harness.strategies import (
    error_texts,
    hostile_text,
    job_inputs,
    metadata,
    progress_values,
    task_ids,
)
from pipeline.errors import InvalidTransition, JobExists, JobNotFound, StaleAttempt
from pipeline.history import HistoryKind
from pipeline.records import redact_record
from pipeline.store import JobStore, Write
from pipeline.validation import MAX_ERROR, MAX_MESSAGE, clean_text
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = [
    "JOB_POOL",
    "JobModel",
    "JobStateMachine",
    "StoreFactory",
    "bind_machine",
    "machine_test_case",
    "run_machine",
]

StoreFactory = Callable[[Workflow], JobStore]
"""Builds a fresh, empty store for one example (a new fake server or a new key prefix)."""

JOB_POOL = ("job-a", "job-b", "job-c", "job-d")
"""Job ids the machine draws from, so creates collide and writes hit known jobs."""

Snapshot = tuple[Any, ...]
E = TypeVar("E", bound=Exception)


@dataclass
class JobModel:
    """What the machine expects the store to hold for one job."""

    status: str
    message: str
    attempt: int = 1
    version: int = 1
    error: str | None = None
    progress: Any = None
    result: Any = None
    task_id: str | None = None
    input: Any = None


def _json_round_trip(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value))


def _text(value: str | None, limit: int = MAX_MESSAGE) -> str:
    return clean_text(value, "text", limit)


class JobStateMachine(RuleBasedStateMachine):
    """Random writes to a store, checked against a model; bind with :func:`bind_machine`."""

    workflow: ClassVar[Workflow] = PRD_WORKFLOW
    store_factory: ClassVar[StoreFactory | None] = None
    inputs: ClassVar[st.SearchStrategy[dict[str, Any]] | None] = None

    def __init__(self) -> None:
        super().__init__()
        factory = type(self).store_factory
        if factory is None:
            raise TypeError("JobStateMachine needs a store: use bind_machine(workflow, factory)")
        self.wf = type(self).workflow
        self.store = factory(self.wf)
        self.model: dict[str, JobModel] = {}
        self.seen_version: dict[str, int] = {}

    # -- helpers ------------------------------------------------------------------------

    def _jobs(self, *, running: bool | None = None, status: str | None = None) -> list[str]:
        return sorted(
            job_id
            for job_id, job in self.model.items()
            if (running is None or (job.status in self.wf.running) == running)
            and (status is None or job.status == status)
        )

    def _snapshot(self, job_id: str) -> Snapshot:
        """Everything a write could touch for ``job_id``, read in one round trip."""
        keys = self.store.keys
        state, history = keys.state(job_id), keys.history(job_id)
        pipe = self.store.client.pipeline(transaction=False)
        pipe.hgetall(state)
        pipe.xrange(history)
        pipe.pttl(state)
        pipe.pttl(history)
        for index in keys.indexes():
            pipe.zscore(index, job_id)
        raw, entries, state_ttl, history_ttl, *scores = pipe.execute()
        return raw, entries, state_ttl > 0, history_ttl > 0, tuple(scores)

    def _rejected(self, job_id: str, error: type[E], call: Callable[[], object]) -> E:
        """``call`` must raise ``error`` and leave the job exactly as it was."""
        before = self._snapshot(job_id)
        caught = _raises(error, call)
        assert self._snapshot(job_id) == before, f"a rejected write changed {job_id}"
        return caught

    def _versioned(self, job_id: str, write: Write) -> JobModel:
        job = self.model[job_id]
        assert write.version == job.version + 1, (
            f"{job_id}: version went {job.version} -> {write.version}, expected +1"
        )
        job.version = write.version
        return job

    def _moved(self, job: JobModel, status: str, message: str | None) -> None:
        job.status = status
        job.message = _text(message) or self.wf.message(status)

    # -- rules --------------------------------------------------------------------------

    @rule(job_id=st.sampled_from(JOB_POOL), meta=metadata(), data=st.data())
    def create(self, job_id: str, meta: dict[str, str | None], data: st.DataObject) -> None:
        """Create a job with a valid input; a reused id is refused and the existing job kept."""
        url, space_id = str(meta["url"]), meta["space_id"]
        if self.inputs is None and "url" in self.wf.input.metadata_keys:
            job_input: Any = url  # the media pipeline's shorthand: URL and space id
            stored = {"url": url, **({"space_id": space_id} if space_id else {})}
        else:
            inputs = job_inputs(self.wf) if self.inputs is None else self.inputs
            job_input = data.draw(inputs, label="input")
            stored, space_id = job_input, None

        def call() -> Write:
            return self.store.create(
                job_input, job_id=job_id, space_id=space_id, task_id=meta["task_id"]
            )

        if job_id in self.model:
            self._rejected(job_id, JobExists, call)
            return
        write = call()
        assert (write.version, write.attempt, write.status) == (1, 1, self.wf.initial)
        self.model[job_id] = JobModel(
            self.wf.initial,
            self.wf.message(self.wf.initial),
            task_id=meta["task_id"] or None,
            input=_json_round_trip(stored),
        )

    @precondition(lambda self: bool(self._jobs(running=True)))
    @rule(data=st.data())
    def legal_transition(self, data: st.DataObject) -> None:
        """Move a running job along an allowed edge (with optional text, progress, result)."""
        job_id = data.draw(st.sampled_from(self._jobs(running=True)), label="job")
        job = self.model[job_id]
        target = data.draw(st.sampled_from(sorted(self.wf.allowed_from(job.status))), label="to")
        is_error = target == self.wf.error
        error = data.draw(error_texts(), label="error") if is_error else None
        message = data.draw(st.none() | hostile_text(), label="message")
        task_id = data.draw(st.none() | task_ids(), label="task_id")
        progress = data.draw(st.none() | progress_values(), label="progress")
        done = target in self.wf.terminal and not is_error
        result = data.draw(st.none() | progress_values(), label="result") if done else None
        write = self.store.set_state(
            job_id,
            target,
            attempt=job.attempt,
            message=message,
            error=error,
            task_id=task_id,
            progress=progress,
            result=result,
        )
        self._versioned(job_id, write)
        self._moved(job, target, message)
        job.error = _text(error, MAX_ERROR) if is_error else None
        job.progress = _json_round_trip(progress)
        job.result = _json_round_trip(result) if result is not None else job.result
        job.task_id = task_id or job.task_id

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def illegal_transition(self, data: st.DataObject) -> None:
        """A move the workflow forbids raises InvalidTransition and changes nothing."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        forbidden = [s for s in sorted(self.wf.statuses) if not self.wf.allowed(job.status, s)]
        if not forbidden:
            return
        target = data.draw(st.sampled_from(forbidden), label="to")
        self._rejected(
            job_id,
            InvalidTransition,
            lambda: self.store.set_state(job_id, target, attempt=job.attempt, error="boom"),
        )

    def _status_fence(self, data: st.DataObject, job: JobModel) -> tuple[str | None, bool]:
        """A ``status`` argument for progress/heartbeat and whether it matches the job."""
        others = sorted(set(self.wf.statuses) - {job.status})
        choice = data.draw(st.sampled_from(["none", "current", "other"]), label="fence")
        if choice == "none":
            return None, True
        if choice == "current":
            return job.status, True
        return data.draw(st.sampled_from(others), label="status"), False

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """Progress on a running job bumps the version; elsewhere it is refused."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        value = data.draw(progress_values(), label="progress")
        message = data.draw(st.none() | hostile_text(), label="message")
        status, matches = self._status_fence(data, job)

        def call() -> Write:
            return self.store.progress(
                job_id, value, attempt=job.attempt, status=status, message=message
            )

        if job.status in self.wf.terminal or not matches:
            self._rejected(job_id, InvalidTransition, call)
            return
        self._versioned(job_id, call())
        job.progress = _json_round_trip(value)
        job.message = _text(message) or job.message

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        """A heartbeat only moves ``heartbeat_at``: no version bump, no history entry."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        status, matches = self._status_fence(data, job)

        def call() -> Write:
            return self.store.heartbeat(job_id, attempt=job.attempt, status=status)

        if job.status in self.wf.terminal or not matches:
            self._rejected(job_id, InvalidTransition, call)
            return
        before = self._snapshot(job_id)
        write = call()
        after = self._snapshot(job_id)
        assert write.version == job.version
        assert after[1] == before[1], "a heartbeat wrote history"
        assert _without_heartbeat(after[0]) == _without_heartbeat(before[0])
        assert int(after[0][b"heartbeat_ms"]) >= int(before[0][b"heartbeat_ms"])

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """``fail`` moves a running job to the error status; a finished job refuses it."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        error = data.draw(error_texts(), label="error")
        stage = data.draw(st.none() | st.sampled_from(sorted(self.wf.running)), label="stage")

        def call() -> Write:
            return self.store.fail(job_id, error, attempt=job.attempt, stage=stage)

        if job.status in self.wf.terminal:
            self._rejected(job_id, InvalidTransition, call)
            return
        self._versioned(job_id, call())
        self._moved(job, self.wf.error, None)
        job.error = _text(f"{stage}: {error}" if stage else error, MAX_ERROR)
        job.progress = None

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Retry starts a new attempt from the error status only."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        fenced = data.draw(st.booleans(), label="fenced")
        message = data.draw(st.none() | hostile_text(), label="message")

        def call() -> Write:
            return self.store.retry(job_id, attempt=job.attempt if fenced else 0, message=message)

        if job.status != self.wf.error:
            self._rejected(job_id, InvalidTransition, call)
            return
        write = call()
        self._versioned(job_id, write)
        assert write.attempt == job.attempt + 1
        job.attempt = write.attempt
        self._moved(job, self.wf.initial, message)
        job.error = job.progress = job.result = job.task_id = None

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def stale_attempt_write(self, data: st.DataObject) -> None:
        """Any write carrying another attempt than the current one is fenced off."""
        job_id = data.draw(st.sampled_from(self._jobs()), label="job")
        job = self.model[job_id]
        older = st.integers(1, job.attempt - 1) if job.attempt > 1 else st.nothing()
        stale = data.draw(older | st.integers(job.attempt + 1, job.attempt + 3), label="attempt")
        target = data.draw(st.sampled_from(sorted(self.wf.statuses)), label="to")
        writes: dict[str, Callable[[], Write]] = {
            "set_state": lambda: self.store.set_state(job_id, target, attempt=stale, error="x"),
            "progress": lambda: self.store.progress(job_id, {"n": 1}, attempt=stale),
            "heartbeat": lambda: self.store.heartbeat(job_id, attempt=stale),
            "fail": lambda: self.store.fail(job_id, "late", attempt=stale),
            "retry": lambda: self.store.retry(job_id, attempt=stale),
        }
        kind = data.draw(st.sampled_from(sorted(writes)), label="write")
        caught = self._rejected(job_id, StaleAttempt, writes[kind])
        assert (caught.attempt, caught.current) == (stale, job.attempt)

    @rule(job_id=st.sampled_from(JOB_POOL))
    def write_missing(self, job_id: str) -> None:
        """Writes to a job that does not exist raise JobNotFound and create nothing."""
        if job_id in self.model:
            return
        for call in (
            lambda: self.store.set_state(job_id, self.wf.initial),
            lambda: self.store.progress(job_id, 1),
            lambda: self.store.heartbeat(job_id),
            lambda: self.store.retry(job_id),
        ):
            self._rejected(job_id, JobNotFound, call)

    @rule(job_id=st.sampled_from(JOB_POOL))
    def clear(self, job_id: str) -> None:
        """Clearing deletes the job and its history; clearing nothing returns False."""
        existed = self.store.clear_state(job_id)
        assert existed == (job_id in self.model)
        self.model.pop(job_id, None)
        self.seen_version.pop(job_id, None)
        assert self.store.find_state(job_id) is None
        assert self.store.history(job_id) == []

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def record_matches_model(self) -> None:
        """The stored record is what the model predicts, field by field."""
        for job_id, job in self.model.items():
            # The stored truth, as written: the model knows nothing of the redaction that
            # every read applies (checked on its own by ``reads_are_redacted``).
            record = self.store.get_state(job_id, reveal_credentials=True)
            expected = {
                "status": job.status,
                "attempt": job.attempt,
                "version": job.version,
                "message": job.message,
                "error": job.error or None,
                "progress": job.progress,
                "result": job.result,
                "task_id": job.task_id,
                "input": job.input,
            }
            actual = {k: record[k] for k in expected if k != "task_id"}
            actual["task_id"] = record["metadata"]["task_id"]
            assert actual == expected, f"{job_id}: stored {actual} != model {expected}"

    @invariant()
    def reads_are_redacted(self) -> None:
        """What a read shows is the stored record through the one redaction."""
        for job_id in self.model:
            stored = self.store.get_state(job_id, reveal_credentials=True)
            shown = self.store.get_state(job_id)
            assert shown == redact_record(stored, self.store.redactor), f"{job_id}: {shown}"

    @invariant()
    def versions_only_grow(self) -> None:
        """The stored version never goes back."""
        for job_id, job in self.model.items():
            assert job.version >= self.seen_version.get(job_id, 0)
            self.seen_version[job_id] = job.version

    @invariant()
    def history_is_a_legal_story(self) -> None:
        """History: a legal path with one entry per version 1..n, ending at the current
        status, in which a terminal status is only ever left by a retry from the error
        status (terminal is sticky)."""
        for job_id, job in self.model.items():
            history = self.store.history(job_id)
            path = [(e["kind"], e["status"]) for e in history]
            assert self.wf.is_legal_path(path), f"{job_id}: illegal history {path}"
            assert [e["version"] for e in history] == list(range(1, job.version + 1))
            assert history[-1]["status"] == job.status
            self._check_sticky(job_id, history)

    def _check_sticky(self, job_id: str, history: list[dict[str, Any]]) -> None:
        for before, after in itertools.pairwise(history):
            if before["status"] in self.wf.terminal:
                left = f"{job_id}: left {before['status']} by {after['kind']}"
                assert before["status"] == self.wf.error, left
                assert after["kind"] == HistoryKind.RETRY, left


def _without_heartbeat(raw: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {k: v for k, v in raw.items() if k != b"heartbeat_ms"}


def _raises(error: type[E], call: Callable[[], object]) -> E:
    try:
        call()
    except error as exc:
        return exc
    raise AssertionError(f"expected {error.__name__}, the write succeeded")


def bind_machine(
    workflow: Workflow,
    factory: StoreFactory,
    *,
    inputs: st.SearchStrategy[dict[str, Any]] | None = None,
) -> type[JobStateMachine]:
    """A :class:`JobStateMachine` subclass for ``workflow`` whose examples use ``factory``.

    ``inputs`` draws the job inputs (default: ``job_inputs(workflow)``).
    """
    name = "".join(part.title() for part in workflow.name.replace("-", "_").split("_"))
    attrs = {"workflow": workflow, "store_factory": staticmethod(factory), "inputs": inputs}
    return type(f"{name}JobStateMachine", (JobStateMachine,), attrs)


def machine_test_case(
    workflow: Workflow,
    factory: StoreFactory,
    *,
    settings: hypothesis_settings | None = None,
    inputs: st.SearchStrategy[dict[str, Any]] | None = None,
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` class running the machine (assign it to a ``Test*`` name)."""
    case: type[unittest.TestCase] = bind_machine(workflow, factory, inputs=inputs).TestCase
    if settings is not None:
        case.settings = settings  # type: ignore[attr-defined]
    return case


def run_machine(
    workflow: Workflow,
    factory: StoreFactory,
    *,
    settings: hypothesis_settings | None = None,
    inputs: st.SearchStrategy[dict[str, Any]] | None = None,
) -> None:
    """Run the machine now (inside a normal test, so the factory may close over fixtures)."""
    machine = bind_machine(workflow, factory, inputs=inputs)
    # Hypothesis leaves this function unannotated.
    run_state_machine_as_test(machine, settings=settings)  # type: ignore[no-untyped-call,unused-ignore]
