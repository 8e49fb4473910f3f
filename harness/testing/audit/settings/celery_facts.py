"""What a Celery app's workers will do, read from its settings and tasks (no pytest).

A task's own options win over ``app.conf``: Celery copies a setting onto a task only
where the task left the option unset, so the task's attribute is what its worker uses.
Routing goes through Celery's own router (``task_routes``, then the task's ``queue``),
on a fresh set of queues, so reading the app changes nothing in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery import Celery, Task
from celery.app.routes import Router, prepare
from kombu import Queue
from kombu.transport.redis import Channel

from pipeline.tracking import Tracker

__all__ = [
    "KOMBU_RESTORE_EVERY",
    "KOMBU_VISIBILITY_TIMEOUT",
    "REDIS_SCHEMES",
    "broker_schemes",
    "is_redis",
    "result_expires",
    "sent_queue",
    "stage_tasks_of",
    "stores_results",
    "time_limits",
    "tracker_or_none",
    "visibility_timeout",
    "worker_queues",
]

KOMBU_VISIBILITY_TIMEOUT = float(Channel.visibility_timeout)
"""kombu's Redis transport restores a message unacknowledged this long (3600 s) when the
app's ``broker_transport_options`` leave ``visibility_timeout`` unset."""

_CHANNEL: Any = Channel  # kombu's stubs lack the restore options
KOMBU_RESTORE_EVERY = float(_CHANNEL.unacked_restore_interval * _CHANNEL.unacked_restore_throttle)
"""How often a worker's event loop scans for such messages by default: every
``unacked_restore_interval`` seconds it calls the scan, which runs on every
``unacked_restore_throttle``-th call (10 x 10 = 100 s in kombu 5.7)."""

REDIS_SCHEMES = frozenset({"redis", "rediss", "sentinel"})
"""URL schemes kombu serves with its Redis transport (``redis+socket`` counts as redis)."""

_BROKER_KEYS = ("broker_url", "broker_read_url", "broker_write_url")


def stage_tasks_of(app: Celery) -> dict[str, str]:
    """Each stage status -> its Celery task name, from the app's :class:`Tracker`."""
    return {status: name for name, status in Tracker.of(app).task_names.items()}


def tracker_or_none(app: Celery) -> Tracker | None:
    """The app's tracker, or None for an app that tracks its state some other way."""
    try:
        return Tracker.of(app)
    except LookupError:
        return None


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [url.strip() for url in value.split(";") if url.strip()]
    if isinstance(value, list | tuple):
        return [str(url) for url in value]
    return []


def broker_schemes(app: Celery) -> tuple[str, ...]:
    """The schemes of the app's broker URLs (never the URLs: they carry credentials).

    An app with no broker URL uses Celery's default, ``amqp``.
    """
    urls = [url for key in _BROKER_KEYS for url in _urls(app.conf.get(key))]
    schemes = [url.partition("://")[0].lower() if "://" in url else "?" for url in urls]
    return tuple(dict.fromkeys(schemes)) or ("amqp",)


def is_redis(scheme: str) -> bool:
    """True when kombu serves ``scheme`` with its Redis transport."""
    return scheme.partition("+")[0] in REDIS_SCHEMES


def visibility_timeout(app: Celery) -> tuple[float, bool]:
    """``(seconds, set)``: the broker's ``visibility_timeout`` and whether the app set it."""
    options: Mapping[str, Any] = app.conf.broker_transport_options or {}
    value = options.get("visibility_timeout")
    if value is None:
        return KOMBU_VISIBILITY_TIMEOUT, False
    return float(value), True


def _seconds(value: Any) -> float | None:
    """A limit or expiry in seconds; None for none (Celery treats 0 as no limit too)."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return float(value) if value else None


def time_limits(task: Task[Any, Any]) -> tuple[float | None, float | None]:
    """``(hard, soft)`` seconds the worker gives ``task`` (None: no limit)."""
    return _seconds(task.time_limit), _seconds(task.soft_time_limit)


def result_expires(app: Celery) -> float | None:
    """Seconds Celery keeps a task's result (None: for ever)."""
    return _seconds(app.conf.result_expires)


def stores_results(app: Celery, task: Task[Any, Any]) -> bool:
    """True when the worker writes ``task``'s outcome to the result backend."""
    if not app.conf.result_backend:
        return False
    return not task.ignore_result or bool(task.store_errors_even_if_ignored)


def _fresh_queues(app: Celery) -> Any:
    """The queues a worker builds from the settings (the app's own set is left alone:
    routing to a missing queue adds it to the set it routes with)."""
    return app.amqp.Queues(app.conf.task_queues)


def worker_queues(app: Celery) -> tuple[str, ...]:
    """The queues ``celery worker`` without ``-Q`` reads: ``task_queues``, else the
    default queue."""
    return tuple(_fresh_queues(app))


def sent_queue(app: Celery, task: Task[Any, Any]) -> str:
    """The queue ``task.apply_async()`` sends to: ``task_routes`` first, the task's own
    ``queue``/``routing_key`` options over the route, else ``task_default_queue``.

    Raises :class:`celery.exceptions.QueueNotFound` as sending would (a route to a queue
    missing from ``task_queues`` with ``task_create_missing_queues`` off).
    """
    # Built from the settings now: the app's router keeps the routes it first read.
    create_missing = bool(app.conf.task_create_missing_queues)
    router = Router(prepare(app.conf.task_routes), _fresh_queues(app), create_missing, app=app)
    exec_options: Any = task._get_exec_options()  # type: ignore[attr-defined]
    task_type: Any = task  # what apply_async passes (the stubs expect a class)
    route: dict[str, Any] = router.route(dict(exec_options), task.name, (), {}, task_type)
    queue = route.get("queue")
    if isinstance(queue, Queue):
        return str(queue.name)
    if queue:
        return str(queue)
    return str(route.get("routing_key") or app.conf.task_default_queue)
