"""The audit's door for apps that keep their own job state: a :class:`StateAdapter`.

Most pipelines keep state their own way: a Redis hash their tasks update,
``self.update_state`` and Celery's result backend, a database row. The audit
(``pytest --jobstate-audit``) judges such an app through a few lines that say how to
submit a job, how to read a job's status, error and result from *their* store, which
Celery task runs which stage, and their statuses as a :class:`~pipeline.workflow.Workflow`.
Nothing in their tasks changes: faults are planted at the Celery task level and the
audit samples :meth:`StateAdapter.read` fast enough to see every status the app writes.

Name the adapter with the ``jobstate_adapter`` setting (``module:Class``) beside
``jobstate_app``. A minimal one, for an app whose tasks call ``self.update_state`` on
the job's root task id::

    class ResultAdapter(StateAdapter):
        workflow = CONVERT
        stage_tasks = {"RESIZING": "shop.resize", "STORING": "shop.store"}

        def submit(self, job_input):
            return shop.tasks.convert(job_input).id

        def read(self, job_id):
            meta = self.app.backend.get_task_meta(job_id, cache=False)
            info = meta.get("result")
            error = str(info) if meta["status"] == "FAILURE" else None
            result = info.get("result") if isinstance(info, dict) else None
            return JobReading(meta["status"], error=error, result=result)

No pytest here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from celery import Celery

from pipeline.loading import load_object
from pipeline.workflow import Workflow

__all__ = ["AdapterError", "JobReading", "StateAdapter", "TaskEvent", "load_adapter"]


class AdapterError(ValueError):
    """The ``jobstate_adapter`` target is not a usable :class:`StateAdapter`."""


@dataclass(frozen=True)
class JobReading:
    """One read of a job from the app's own store: its status, error text and result.

    ``error`` is ``None`` (or empty) when the store holds no error; ``result`` is ``None``
    when it holds no result.
    """

    status: str
    error: str | None = None
    result: Any = None

    @property
    def has_result(self) -> bool:
        """True when the store holds a result for the job."""
        return self.result not in (None, "", {}, [])


@dataclass(frozen=True)
class TaskEvent:
    """What Celery knew of one task run, as the audit's workers logged it.

    ``event`` is ``started``, ``succeeded``, ``failed`` or ``retried``; ``args`` is the
    task's arguments as JSON text (cut at a few kilobytes); ``error`` names the exception
    of a failure (``WorkerLostError: ...``). ``pid`` is the process that logged it: a
    failure the worker's parent reports (a lost child, a hard time limit) has the parent's.
    """

    event: str
    task: str
    task_id: str
    root_id: str
    args: str
    error: str
    pid: int
    at: float


class StateAdapter:
    """How the audit drives and reads an app that keeps its own job state.

    Subclass it and set :attr:`workflow` and :attr:`stage_tasks`; implement
    :meth:`submit` and :meth:`read`. :meth:`read_api` (what the app's UI or API shows)
    and :meth:`retry` are optional: the checks that need them are skipped, and the card
    says so, when they are left out. The audit builds one adapter per cell with the app
    under audit, already bound to the audit's Redis and queue.
    """

    workflow: ClassVar[Workflow]
    """The app's statuses: initial, one running status per stage, done, error."""
    stage_tasks: ClassVar[Mapping[str, str]]
    """Each stage's status -> the name of the Celery task that runs it."""
    results: ClassVar[bool] = True
    """Whether a job that is done holds a result (a done job without one is a finding)."""
    settle_seconds: ClassVar[float] = 3.0
    """How long a job may show no change (and run no task) before the audit judges it
    where it stands: a job still in a running status then is stuck."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def submit(self, job_input: Any) -> str:
        """Start one job with ``job_input`` the way the app's users do; return its id."""
        raise NotImplementedError(f"{type(self).__name__}.submit")

    def read(self, job_id: str) -> JobReading | None:
        """The job as the app's own store holds it now, or ``None`` when it holds nothing."""
        raise NotImplementedError(f"{type(self).__name__}.read")

    def read_api(self, job_id: str) -> JobReading | None:
        """The job as the app's UI or API shows it (optional)."""
        raise NotImplementedError(f"{type(self).__name__}.read_api")

    def retry(self, job_id: str) -> None:
        """Retry a job that ended in the error status (optional)."""
        raise NotImplementedError(f"{type(self).__name__}.retry")

    def example_input(self) -> Any:
        """One valid job input (default: the workflow's declared example or sample)."""
        return self.workflow.input.sample()

    def belongs(self, job_id: str, event: TaskEvent) -> bool:
        """Whether the task run ``event`` worked on ``job_id`` (default: the job's id is
        the task's id or root id, or appears in its arguments)."""
        if job_id in (event.task_id, event.root_id):
            return True
        return json.dumps(job_id) in event.args or job_id in event.args

    def close(self) -> None:
        """Release what the adapter opened (called after each cell)."""

    @property
    def has_api(self) -> bool:
        """True when :meth:`read_api` is implemented."""
        return type(self).read_api is not StateAdapter.read_api

    @property
    def can_retry(self) -> bool:
        """True when :meth:`retry` is implemented."""
        return type(self).retry is not StateAdapter.retry

    def stage_of(self, task_name: str) -> str | None:
        """The stage a task runs, if any."""
        return next((s for s, t in self.stage_tasks.items() if t == task_name), None)


def load_adapter(target: str) -> type[StateAdapter]:
    """Import the ``jobstate_adapter`` class and check what the audit needs of it."""
    cls = load_object(target, "jobstate_adapter")
    if not (isinstance(cls, type) and issubclass(cls, StateAdapter)):
        raise AdapterError(
            f"jobstate_adapter={target!r} is not a subclass of harness.adapter.StateAdapter"
        )
    workflow = getattr(cls, "workflow", None)
    if not isinstance(workflow, Workflow):
        raise AdapterError(f"jobstate_adapter={target!r}: set workflow to a pipeline Workflow")
    tasks = getattr(cls, "stage_tasks", None)
    if not isinstance(tasks, Mapping) or not tasks:
        raise AdapterError(
            f"jobstate_adapter={target!r}: set stage_tasks to {{stage status: task name}}"
        )
    unknown = sorted(set(tasks) - set(workflow.running))
    if unknown:
        raise AdapterError(
            f"jobstate_adapter={target!r}: stage_tasks names {', '.join(unknown)}, not running "
            f"statuses of workflow {workflow.name!r} ({', '.join(sorted(workflow.running))})"
        )
    return cls
