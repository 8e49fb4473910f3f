"""The audit's check of a team's Celery settings: one finding per check, passed ones too.

:func:`check_settings` reads the app as its workers would
(:mod:`harness.testing.audit.settings.celery_facts`) and judges the settings honest job
state needs. Each :class:`~harness.testing.audit.report.card.Finding` has a stable
``check`` id, says in plain words what goes wrong with the current value and gives the
line that fixes it. App-wide checks come first, then each stage's, in workflow
order. Texts name broker schemes only, never broker URLs (they carry credentials).

The stage checks live in :mod:`harness.testing.audit.settings.stage_checks`; this module
holds the app-wide ones and puts them together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from celery import Celery

from harness.testing.audit.report.card import Finding
from harness.testing.audit.settings import celery_facts as facts
from harness.testing.audit.settings.findings import finding
from harness.testing.audit.settings.stage_checks import AppView, Stage, option_line, stage_findings
from pipeline.settings import Settings
from pipeline.workflow import Workflow

__all__ = ["CHECKS", "check_settings", "stage_tasks_of"]

CHECKS = (
    "broker-redis",
    "json-only",
    "prefetch-multiplier",
    "result-expires",
    "connection-loss",
    "stage-task",
    "acks-late",
    "reject-on-worker-lost",
    "time-limits",
    "visibility-timeout",
    "queue",
)
"""Every check id, in the order findings come."""

stage_tasks_of = facts.stage_tasks_of

_PICKLE = "pickle"
_JSON = "json"


def check_settings(
    app: Celery,
    workflow: Workflow,
    stage_tasks: Mapping[str, str],
    *,
    worker_queues: Collection[str] | None = None,
    retention_seconds: float | None = None,
) -> list[Finding]:
    """Every finding about ``app``'s settings for ``workflow``'s stages.

    ``stage_tasks`` maps each stage status to its Celery task name (for an app with our
    Tracker: :func:`stage_tasks_of`). ``worker_queues`` are the queues its workers read
    (their ``-Q``); by default what ``celery worker`` without ``-Q`` reads.
    ``retention_seconds`` is how long finished jobs are kept; by default the app's
    ``jobstate_settings``' (else ``JOBSTATE_RETENTION_SECONDS``). Reading the tasks
    finalizes the app, as starting a worker does; nothing else in it changes.
    """
    view = _view(app, worker_queues)
    stages = [_stage(app, status, stage_tasks.get(status, "")) for status in workflow.stages]
    retention = _retention(app) if retention_seconds is None else float(retention_seconds)
    found = [
        _broker(view),
        _json_only(view, [s for s in stages if s.task is not None]),
        _prefetch(app, view),
        _result_expires(app, [s for s in stages if s.task is not None], retention),
        _connection_loss(app),
    ]
    found += stage_findings(view, stages)
    return sorted(found, key=lambda f: CHECKS.index(f.check))


def _view(app: Celery, worker_queues: Collection[str] | None) -> AppView:
    schemes = facts.broker_schemes(app)
    seconds, was_set = facts.visibility_timeout(app)
    queues = tuple(worker_queues) if worker_queues is not None else facts.worker_queues(app)
    return AppView(
        app=app,
        tracker=facts.tracker_or_none(app),
        schemes=schemes,
        redis=all(facts.is_redis(s) for s in schemes),
        visibility=seconds,
        visibility_set=was_set,
        worker_queues=queues,
        queues_given=worker_queues is not None,
    )


def _stage(app: Celery, status: str, name: str) -> Stage:
    return Stage(status, name, app.tasks.get(name) if name else None)


def _retention(app: Celery) -> float:
    settings = app.conf.get("jobstate_settings")
    if not isinstance(settings, Settings):
        settings = Settings.from_env()
    return float(settings.retention_seconds)


# -- the broker ---------------------------------------------------------------------------


def _broker(view: AppView) -> Finding:
    shown = ", ".join(f"{s}://" for s in view.schemes)
    if view.redis:
        return finding(
            "broker-redis",
            True,
            "warning",
            "The broker is Redis",
            f"The broker is Redis ({shown}): the visibility-timeout findings describe "
            "kombu's Redis transport, which this audit's facts are about.",
        )
    return finding(
        "broker-redis",
        False,
        "warning",
        "The broker is not Redis",
        f"The broker is {shown}, not Redis. This audit's facts (visibility_timeout, the "
        "restore of unacknowledged messages) are those of kombu's Redis transport, so the "
        "visibility-timeout checks were skipped; check your broker's own redelivery "
        "timeout against your stages' time limits by hand.",
        'app.conf.broker_url = "redis://localhost:6379/0"',
    )


# -- serialisation ------------------------------------------------------------------------


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Collection):
        return [str(v) for v in value]
    return []


def _is_pickle(name: str) -> bool:
    return _PICKLE in name.lower()


def _is_json(name: str) -> bool:
    return name.lower() in {_JSON, "application/json"}


def _json_only(view: AppView, stages: list[Stage]) -> Finding:
    conf = view.app.conf
    accept = _names(conf.accept_content)
    result_accept = _names(conf.result_accept_content) if conf.result_accept_content else []
    wrong: dict[str, tuple[list[str], str]] = {}
    for key, names in (
        ("task_serializer", _names(conf.task_serializer)),
        ("result_serializer", _names(conf.result_serializer)),
        ("accept_content", accept),
        ("result_accept_content", result_accept),
    ):
        if any(not _is_json(n) for n in names):
            value = '["json"]' if key.endswith("content") else '"json"'
            wrong[key] = (names, f"app.conf.{key} = {value}")
    for stage in stages:
        assert stage.task is not None
        serializer = str(stage.task.serializer or "")
        own = serializer != str(conf.task_serializer)  # else task_serializer names it
        if own and serializer and not _is_json(serializer):
            line = option_line(view, stage, 'serializer="json"')
            wrong[f"the serializer of {stage.name}"] = ([serializer], line)
    if not wrong:
        return finding(
            "json-only",
            True,
            "error",
            "JSON only",
            "Tasks and results are sent and accepted as JSON only (task_serializer, "
            "result_serializer, accept_content, result_accept_content): no worker runs "
            "code hidden in a message, and every context is plain data the job's state "
            "can show.",
        )
    pickled = any(_is_pickle(n) for names, _ in wrong.values() for n in names)
    listed = "; ".join(f"{key} = {names}" for key, (names, _) in wrong.items())
    danger = (
        "pickle lets anyone who can write to the broker run code in your workers "
        "(unpickling runs it), and a context only pickle can carry is one the job's "
        "state cannot show"
        if pickled
        else "a context only that format carries may not survive JSON, which the job's "
        "state and its API speak"
    )
    return finding(
        "json-only",
        False,
        "error" if pickled else "warning",
        "Not JSON only",
        f"Not JSON only: {listed}. {danger[0].upper()}{danger[1:]}.",
        "\n".join(line for _, line in wrong.values()),
    )


# -- prefetch -----------------------------------------------------------------------------


def _prefetch(app: Celery, view: AppView) -> Finding:
    multiplier = int(app.conf.worker_prefetch_multiplier or 0)
    if multiplier == 1 or (view.redis and app.conf.worker_disable_prefetch):
        return finding(
            "prefetch-multiplier",
            True,
            "warning",
            "One message at a time",
            "Each worker process reserves one message at a time "
            f"(worker_prefetch_multiplier = {multiplier}): a message waits in the queue, "
            "where any free worker takes it, not behind a long stage in a busy worker.",
        )
    held = "every message it can" if multiplier == 0 else f"{multiplier} messages"
    return finding(
        "prefetch-multiplier",
        False,
        "warning",
        "Workers reserve several messages",
        f"worker_prefetch_multiplier = {multiplier}: each worker process reserves {held}. "
        "With late acks a reserved message waits behind the long stage its worker is "
        "running while other workers sit idle, and on Redis its visibility timeout runs "
        "while it waits: a message that waited long enough is delivered to another worker "
        "too, and its stage runs twice.",
        "app.conf.worker_prefetch_multiplier = 1",
    )


# -- results ------------------------------------------------------------------------------


def _result_expires(app: Celery, stages: list[Stage], retention: float) -> Finding:
    expires = facts.result_expires(app)
    keeping = [s.name for s in stages if s.task is not None and facts.stores_results(app, s.task)]
    tasks = f"The stage task{'s' if len(keeping) > 1 else ''} {', '.join(keeping)}"
    shown = "never" if expires is None else f"{expires:g} s"
    if not keeping:
        return finding(
            "result-expires",
            True,
            "warning",
            "Job results outlive Celery's",
            "No stage task keeps a Celery result (ignore_result): each job's result lives "
            f"in its own record, kept {retention:g} s (retention_seconds) after the job "
            f"finishes, which result_expires ({shown}) does not shorten.",
        )
    if expires is None or expires >= retention:
        return finding(
            "result-expires",
            True,
            "warning",
            "Celery results kept as long as jobs",
            f"{tasks} keep Celery results for {shown} (result_expires), "
            f"no shorter than finished jobs are kept ({retention:g} s, retention_seconds): "
            "a finished job's task id never points at a result that is gone.",
        )
    return finding(
        "result-expires",
        False,
        "warning",
        "Celery results expire before the jobs",
        f"{tasks} keep Celery results for {shown} (result_expires), "
        f"but a finished job, with the task ids it records, is kept {retention:g} s "
        f"(retention_seconds). After {shown} Celery answers PENDING for the task of a job "
        "that finished: anything that reads the task's state shows a status that is no "
        "longer true.",
        f"app.conf.result_expires = {retention:g}",
    )


# -- connection loss ----------------------------------------------------------------------


def _connection_loss(app: Celery) -> Finding:
    if app.conf.worker_cancel_long_running_tasks_on_connection_loss:
        return finding(
            "connection-loss",
            True,
            "info",
            "Stages cancelled on a lost broker connection",
            "worker_cancel_long_running_tasks_on_connection_loss = True (Celery 6's "
            "default): when a prefork worker loses Redis it cancels the late-acknowledged "
            "stages it runs (their pool processes get SIGTERM). The stage writes its error "
            "status naming itself, or, when Redis is still down then, the stale sweep "
            "does; nothing is left running and the job can be retried. A thread worker "
            "cannot stop a thread: there the stage runs on.",
        )
    return finding(
        "connection-loss",
        True,
        "info",
        "Stages run on through a lost broker connection",
        "worker_cancel_long_running_tasks_on_connection_loss = False (Celery 5's "
        "default; Celery 6 turns it on): a stage runs on when its worker loses Redis. "
        "Heartbeats that fall in the outage fail and resume when Redis is back; a stage "
        "that finishes with Redis back hands off and the job completes, one that finishes "
        "while Redis is still down cannot say so and the job waits in its running status "
        "for the stale sweep or a redelivery. Each lost connection logs Celery's "
        "CPendingDeprecationWarning about this setting.",
    )
