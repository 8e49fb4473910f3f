"""Reusable state tracking for Celery: stage tasks that keep the job's state honest.

A :class:`Tracker` turns plain functions ``fn(ctx, run) -> ctx`` into Celery tasks that,
on entry, move the job to the stage's status (fenced by the job's attempt, recording the
Celery task id) and start a heartbeat; on success hand the context to the next stage (or
write the final status with the result); on an exception write the error status naming
the stage and remove the stage's files. A fenced-out run (stale attempt, job moved on,
job cleared) stops quietly with no side effects. Worker loss is handled in the parent
process through ``task_failure``, and redeliveries are capped.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery, Task, signals
from celery.exceptions import Ignore
from celery.utils.saferepr import saferepr

from pipeline.error_text import sanitise_error
from pipeline.errors import InvalidTransition, JobNotFound, JobStateError, StaleAttempt
from pipeline.redaction import install_log_redaction
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import Workflow

__all__ = [
    "SAFE_TASK_OPTIONS",
    "Heartbeat",
    "StageFn",
    "StageHook",
    "StageRun",
    "Tracker",
    "add_stage_hook",
    "remove_stage_hook",
    "sanitise_error",
]

log = logging.getLogger(__name__)

StageFn = Callable[[dict[str, Any], "StageRun"], dict[str, Any]]
StageHook = Callable[["StageRun"], None]
"""Called as each stage starts (after its status is written), in the process running it.

A hook that raises fails the stage like the stage's own code would: this is how test
harnesses inject faults without any test code on a production worker's stage path.
"""
FENCED = (StaleAttempt, InvalidTransition, JobNotFound)

SAFE_TASK_OPTIONS: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}
"""Stage task options that make a killed child's stage run again instead of vanishing.

With them a message is acknowledged only after the stage ends, and a child lost
mid-stage puts it back on the queue; the store's redelivery cap stops a poison job.
A stage may override them (``@tracker.stage("X", acks_late=False)``): then Celery
reports the lost child through ``task_failure`` in the parent and the tracker writes
the error status naming the stage.
"""

_HOOKS: list[StageHook] = []

RECORDED_FAILURES = 1024
"""How many task ids of failures their stage recorded a tracker remembers (one is
forgotten as Celery reports it, so only runs Celery never reported stay)."""

ARGSREPR_MAX = 1024
"""How much of a stage message's (redacted) arguments Celery shows, as its default."""


def _shown_args(ctx: Any) -> str:
    """The ``argsrepr`` of a stage message: its redacted context, cut at ARGSREPR_MAX.

    A context is JSON data, whose ``repr`` is exact and a fraction of ``saferepr``'s cost
    (this runs at every hand-off); anything else goes through ``saferepr``.
    """
    try:
        text = repr((ctx,))
    except Exception:
        return saferepr((ctx,), ARGSREPR_MAX)
    return text if len(text) <= ARGSREPR_MAX else text[: ARGSREPR_MAX - 3] + "..."


def _default_work_root() -> str:
    """Where stage files go when the settings name no work dir: ``<tmp>/jobstate``."""
    return os.path.join(tempfile.gettempdir(), "jobstate")


HANDOFF = "handoff"
"""Job-context key naming the stage run that sent this stage: ``[status, delivery]``."""


def _handed_by(ctx: dict[str, Any]) -> tuple[str, int] | None:
    """The run that handed this stage off, from the context (None for the first stage)."""
    by = ctx.get(HANDOFF)
    if isinstance(by, list | tuple) and len(by) == 2:
        status, delivery = by
        if isinstance(status, str) and isinstance(delivery, int):
            return (status, delivery)
    return None


def add_stage_hook(hook: StageHook) -> None:
    """Call ``hook(run)`` as every tracked stage of this process starts."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def remove_stage_hook(hook: StageHook) -> None:
    """Stop calling ``hook`` (no error if it was not added)."""
    if hook in _HOOKS:
        _HOOKS.remove(hook)


@dataclass
class StageRun:
    """What a stage function gets besides the context: progress, a work dir, settings."""

    store: JobStore
    job_id: str
    attempt: int
    status: str
    task_id: str
    settings: Settings
    root: Path
    stop: threading.Event = field(default_factory=threading.Event)
    delivery: int = 1
    """Which delivery of this stage's message this run is (2 after one redelivery...)."""

    @property
    def by(self) -> tuple[str, int]:
        """This run as the store's writes name it: ``(status, delivery)``."""
        return (self.status, self.delivery)

    @property
    def workdir(self) -> Path:
        """This stage's own directory (created on first use, removed on failure)."""
        path = self.root / self.status.lower()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def progress(self, data: dict[str, Any], message: str | None = None) -> None:
        """Record progress for this stage (fenced: raises Ignore if the job moved on)."""
        try:
            self.store.progress(
                self.job_id,
                data,
                attempt=self.attempt,
                status=self.status,
                message=message,
                run=self.delivery,
            )
        except FENCED as exc:
            log.info("stage %s of %s fenced out during progress: %s", self.status, self.job_id, exc)
            raise Ignore() from exc

    def cleanup(self) -> None:
        """Remove every file this stage wrote."""
        path = self.root / self.status.lower()
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


class _Beats:
    """One heartbeat thread per process serving every running stage.

    Starting a thread per stage costs about a millisecond; a shared one costs a dict
    insert. Each run is beaten every ``interval`` seconds until it is removed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, tuple[StageRun, float, float]] = {}
        self._owner = -1

    def add(self, run: StageRun, interval: float) -> None:
        with self._lock:
            self._runs[id(run)] = (run, interval, time.monotonic() + interval)
            if self._owner != os.getpid():  # first use in this process (or after a fork)
                self._owner = os.getpid()
                threading.Thread(target=self._loop, name="jobstate-heartbeat", daemon=True).start()
        # No wake-up here: the loop wakes at least every 0.5 s and a new run's first beat
        # is due only after a whole interval anyway.

    def remove(self, run: StageRun) -> None:
        with self._lock:
            self._runs.pop(id(run), None)

    def _due(self) -> tuple[list[StageRun], float]:
        now = time.monotonic()
        due, wait = [], 0.5
        with self._lock:
            for key, (run, interval, at) in list(self._runs.items()):
                if at <= now:
                    due.append(run)
                    self._runs[key] = (run, interval, now + interval)
                    at = now + interval
                wait = min(wait, at - now)
        return due, max(wait, 0.01)

    def _loop(self) -> None:
        while True:
            due, wait = self._due()
            for run in due:
                self._beat(run)
            time.sleep(wait)  # the next beat is due then; nothing else needs the thread

    def _beat(self, run: StageRun) -> None:
        try:
            run.store.heartbeat(
                run.job_id, attempt=run.attempt, status=run.status, run=run.delivery
            )
        except FENCED:
            run.stop.set()
            self.remove(run)
        except JobStateError as exc:
            log.warning("heartbeat for %s failed: %s", run.job_id, exc)


_BEATS = _Beats()


class Heartbeat:
    """Heartbeat for one stage run while the context is open; stops if the job moves on."""

    def __init__(self, run: StageRun, interval: float) -> None:
        self.run = run
        self.interval = interval

    def __enter__(self) -> Heartbeat:
        _BEATS.add(self.run, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        _BEATS.remove(self.run)


_TRACKERS: weakref.WeakKeyDictionary[Celery, Tracker] = weakref.WeakKeyDictionary()


class Tracker:
    """State tracking for one Celery app and one workflow.

    ``store_factory`` builds the store in each worker process (default: from the app's
    ``jobstate_settings`` or the environment); tests may replace it.
    """

    def __init__(
        self, app: Celery, workflow: Workflow, store_factory: Callable[[], JobStore] | None = None
    ) -> None:
        self.app = app
        self.workflow = workflow
        self.store_factory = store_factory
        self.tasks: dict[str, Task[Any, Any]] = {}
        # Celery sends the registered task as ``sender``; ``tasks`` holds lazy proxies that
        # are never identical to it, so failures are matched by task name.
        self.task_names: dict[str, str] = {}
        self._store: tuple[int, JobStore] | None = None
        # Task ids whose failure their stage run already recorded (or had fenced out):
        # Celery's task_failure for the same exception must not write it a second time.
        self._recorded: OrderedDict[str, bool] = OrderedDict()
        self._recorded_lock = threading.Lock()
        _TRACKERS[app] = self  # Tracker.of(app)
        signals.task_failure.connect(self._on_task_failure, weak=False)
        # Celery logs each stage's outcome and exception text: keep secrets out of it.
        install_log_redaction(self.settings.secret_keys)

    @classmethod
    def of(cls, app: Celery) -> Tracker:
        """The tracker made on ``app`` (``Tracker(app, workflow)`` registers itself)."""
        tracker = _TRACKERS.get(app)
        if tracker is None:
            raise LookupError(
                f"Celery app {app.main!r} has no jobstate tracker: "
                "make one with pipeline.tracking.Tracker(app, workflow)"
            )
        return tracker

    @classmethod
    def tracks(cls, app: Celery) -> bool:
        """Whether a tracker was made on ``app``."""
        return app in _TRACKERS

    def close(self) -> None:
        """Disconnect the signal handlers (for short-lived apps, e.g. in tests)."""
        signals.task_failure.disconnect(self._on_task_failure)

    # -- wiring ---------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The app's jobstate settings (``app.conf.jobstate_settings``) or the env's."""
        settings = self.app.conf.get("jobstate_settings")
        return settings if isinstance(settings, Settings) else Settings.from_env()

    def store(self) -> JobStore:
        """This process's store (rebuilt after a fork)."""
        if self.store_factory is not None:
            return self.store_factory()
        if self._store is None or self._store[0] != os.getpid():
            from pipeline.connection import redis_client

            client = redis_client(self.settings, health_check_interval=30)
            self._store = (os.getpid(), JobStore(client, self.workflow, self.settings))
        return self._store[1]

    def stage(
        self, status: str, name: str | None = None, **options: Any
    ) -> Callable[[StageFn], Task[Any, Any]]:
        """Decorator: register ``fn`` as the Celery task that runs ``status``."""
        if status not in self.workflow.stages:
            raise ValueError(f"{status} is not a stage of workflow {self.workflow.name!r}")

        def register(fn: StageFn) -> Task[Any, Any]:
            tracker = self

            def body(task: Task[Any, Any], ctx: dict[str, Any]) -> dict[str, Any]:
                return tracker.run_stage(task, status, fn, ctx)

            body.__name__ = fn.__name__
            body.__doc__ = fn.__doc__
            opts = {
                "bind": True,
                "shared": False,
                "ignore_result": True,
                "name": name or f"{fn.__module__}.{fn.__name__}",
                **SAFE_TASK_OPTIONS,
                **options,
            }
            task: Task[Any, Any] = self.app.task(**opts)(body)
            self.tasks[status] = task
            self.task_names[str(opts["name"])] = status
            return task

        return register

    def enqueue(self, ctx: dict[str, Any]) -> None:
        """Send the first stage of a job (its record must exist, in the initial status)."""
        first = self.workflow.stages[0]
        if first not in self.tasks:
            raise RuntimeError(f"no task registered for first stage {first}")
        self._send(first, ctx)

    def _send(self, status: str, ctx: dict[str, Any], settings: Settings | None = None) -> None:
        """Send ``status``'s task with ``ctx``; what Celery logs of it is redacted."""
        shown = _shown_args((settings or self.settings).redactor.value(ctx))
        options: dict[str, Any] = {"argsrepr": shown}  # a Celery option celery-types omits
        self.tasks[status].apply_async(args=(ctx,), **options)

    def next_stage(self, status: str) -> str | None:
        """The stage after ``status``, or None when it is the last one."""
        order = self.workflow.stages
        i = order.index(status)
        return order[i + 1] if i + 1 < len(order) else None

    # -- running a stage ------------------------------------------------------------

    def run_stage(
        self, task: Task[Any, Any], status: str, fn: StageFn, ctx: dict[str, Any]
    ) -> dict[str, Any]:
        """Enter the stage, run ``fn`` with a heartbeat, then hand off or finish.

        Returns what Celery logs as the task's outcome: the job, the stage and where it
        went next, never the context (it carries the job's input and its secrets).
        """
        settings = self.settings  # read once: a stage's every lookup of it is on its path
        run = self._enter(task, status, ctx, settings)
        with Heartbeat(run, settings.heartbeat_seconds):
            try:
                for hook in tuple(_HOOKS):
                    hook(run)
                out = fn(dict(ctx), run)
            except Ignore:
                raise
            except BaseException as exc:  # SystemExit too: the job must not stay running
                self._fail(run, exc)
                raise
        return self._hand_off(run, out)

    def _enter(
        self, task: Task[Any, Any], status: str, ctx: dict[str, Any], settings: Settings
    ) -> StageRun:
        store = self.store()
        job_id, attempt = str(ctx["job_id"]), int(ctx["attempt"])
        task_id = str(task.request.id or "")
        try:
            w = store.set_state(
                job_id,
                status,
                attempt=attempt,
                task_id=task_id or None,
                max_runs=settings.max_stage_runs,
                by=_handed_by(ctx),
            )
        except FENCED as exc:
            log.info("stage %s of %s fenced out: %s", status, job_id, exc)
            raise Ignore() from exc
        if w.status != status:
            log.warning("job %s: %s redelivered too often, now %s", job_id, status, w.status)
            self._remove_attempt_dir(job_id, attempt, settings)
            raise Ignore()
        root = self._workdir(job_id, attempt, settings)
        delivery = max(w.reruns, 1)
        return StageRun(store, job_id, attempt, status, task_id, settings, root, delivery=delivery)

    def _hand_off(self, run: StageRun, out: dict[str, Any]) -> dict[str, Any]:
        nxt = self.next_stage(run.status)
        # ``handoff`` names the run handing off, so the next stage's entry is refused
        # when a superseded run (a duplicate delivery) or a second hand-off sends it.
        ctx = {k: v for k, v in out.items() if k != "result"}
        ctx[HANDOFF] = list(run.by)
        outcome = {"job_id": run.job_id, "attempt": run.attempt, "stage": run.status}
        if nxt is not None:
            self._send(nxt, ctx, run.settings)
            return {**outcome, "next": nxt}
        final = self.workflow.happy_path()[-1]
        try:
            run.store.set_state(
                run.job_id, final, attempt=run.attempt, result=out.get("result"), by=run.by
            )
        except FENCED as exc:
            log.info("job %s finished but was fenced out: %s", run.job_id, exc)
            raise Ignore() from exc
        self._remove_attempt_dir(run.job_id, run.attempt, run.settings)
        return {**outcome, "next": final}

    def _fail(self, run: StageRun, exc: BaseException) -> None:
        """Write the error status naming the stage; never raises over the stage's error.

        The write is fenced by the run (a superseded delivery's is refused), and the
        ``task_failure`` Celery then sends for the same exception writes nothing.
        """
        self._note_recorded(run.task_id)
        try:
            run.cleanup()
            self._remove_attempt_dir(run.job_id, run.attempt, run.settings)
        except Exception:
            log.exception("job %s: cleaning %s's files failed", run.job_id, run.status)
        try:
            run.store.fail(
                run.job_id, sanitise_error(exc), attempt=run.attempt, stage=run.status, by=run.by
            )
        except FENCED as fenced:
            log.info("job %s: error not recorded, fenced out: %s", run.job_id, fenced)
        except Exception:
            # Loud: the stale sweep is now the only way this job leaves its running status.
            log.exception("job %s: could not record the failure of %s", run.job_id, run.status)

    def _note_recorded(self, task_id: str) -> None:
        if not task_id:
            return
        with self._recorded_lock:
            self._recorded[task_id] = True
            while len(self._recorded) > RECORDED_FAILURES:
                self._recorded.popitem(last=False)

    def _was_recorded(self, task_id: object) -> bool:
        with self._recorded_lock:
            return self._recorded.pop(str(task_id or ""), False)

    # -- the parent's view of a lost child ------------------------------------------

    def _on_task_failure(
        self,
        sender: Any = None,
        task_id: Any = None,
        exception: BaseException | None = None,
        args: Any = None,
        **_: Any,
    ) -> None:
        """Runs where Celery reports the failure: the parent, for a killed child.

        A stage's own exception was already handled by the stage, in this process: its
        error written, or its write fenced out (a delivery a newer one superseded), so
        nothing is written here for that task id. A lost child, a hard time limit or an
        exception raised before the stage ran are written here.
        """
        status = self.task_names.get(str(getattr(sender, "name", "")))
        if status is None or not args or not isinstance(args[0], dict):
            return
        if getattr(sender, "app", self.app) is not self.app:
            return  # another app's task of the same name (several apps in one process)
        if self._was_recorded(task_id):
            return  # the stage's own _fail wrote it, or its write was fenced out
        ctx = args[0]
        text = sanitise_error(exception) if exception is not None else "failed"
        try:
            self.store().fail(str(ctx["job_id"]), text, attempt=int(ctx["attempt"]), stage=status)
        except (JobStateError, KeyError, TypeError, ValueError) as exc:
            log.debug("task_failure for %s not recorded: %s", status, exc)
        except Exception:
            log.exception("task_failure for %s could not be recorded", status)

    # -- files ----------------------------------------------------------------------

    def _workdir(self, job_id: str, attempt: int, settings: Settings | None = None) -> Path:
        base = (settings or self.settings).work_dir or _default_work_root()
        return Path(base, job_id, f"attempt-{attempt}")  # one parse, not three

    def _remove_attempt_dir(
        self, job_id: str, attempt: int, settings: Settings | None = None
    ) -> None:
        path = self._workdir(job_id, attempt, settings)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
