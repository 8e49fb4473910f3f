"""Load the Celery app under test and point it at a test's Redis, and back (no pytest here).

The ``jobstate_app`` target is a Celery instance or a factory ``f(settings) -> Celery``.
A factory's app is new and owned by the caller; an instance is the user's own global app,
so :class:`AppBinding` remembers every setting it changes and :meth:`AppBinding.restore`
puts them back.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

from celery import Celery

from pipeline.consumer import CELERY_CONSUMER, CONSUMER
from pipeline.errors import printable
from pipeline.loading import load_object
from pipeline.settings import Settings
from pipeline.tracking import Tracker
from pipeline.workflow import Workflow

__all__ = [
    "AppBinding",
    "AppTargetError",
    "build_app",
    "drop_connections",
    "load_target",
    "settings_conf",
    "target_tracker",
    "target_workflow",
    "worker_conf",
]

WORKER_POLL_SECONDS = 0.02
"""How long a worker's broker poll blocks: a queue added to a running worker is read
within this time (kombu's Redis transport otherwise waits a whole second)."""


class AppTargetError(ValueError):
    """The ``jobstate_app`` target is not a Celery app, a factory or has no tracker."""


def load_target(target: str, option: str = "jobstate_app") -> Any:
    """Import ``module:attribute``: a Celery instance or a factory ``f(settings)``
    (``option`` names the setting in messages, as the user set it)."""
    obj = load_object(target, option)
    if not isinstance(obj, Celery) and not callable(obj):
        raise AppTargetError(
            f"{option}={target!r} is a {type(obj).__name__}, "
            "not a Celery app or a factory f(settings) -> Celery"
        )
    return obj


def build_app(target: str, obj: Any, settings: Settings) -> tuple[Celery, bool]:
    """``(app, owned)``: the instance itself (not owned) or a new app from the factory."""
    if isinstance(obj, Celery):
        return obj, False
    try:
        app = obj(settings)
    except Exception as exc:  # os:system, a stage function: callable, but no factory
        raise AppTargetError(
            f"jobstate_app={target!r} is not a factory f(settings) -> Celery: called with "
            f"the settings it raised {type(exc).__name__}: {printable(str(exc), 200)}"
        ) from exc
    if not isinstance(app, Celery):
        raise AppTargetError(
            f"jobstate_app={target!r} returned a {type(app).__name__}, not a Celery app"
        )
    return app, True


def target_tracker(target: str, app: Celery) -> Tracker:
    """The app's :class:`Tracker`, or an error saying how to make one."""
    try:
        return Tracker.of(app)
    except LookupError as exc:
        raise AppTargetError(f"jobstate_app={target!r}: {exc}") from None


def target_workflow(target: str) -> Workflow:
    """The workflow of the tracker on the target's app (a factory's app is built and closed)."""
    obj = load_target(target)
    app, owned = build_app(target, obj, Settings())
    tracker = target_tracker(target, app)
    if owned:
        tracker.close()
        app.close()
    return tracker.workflow


def settings_conf(settings: Settings) -> dict[str, Any]:
    """The Celery settings that bind an app to ``settings``' broker, results and queue."""
    return {
        "broker_url": settings.broker,
        "result_backend": settings.results,
        "task_default_queue": settings.queue,
        "jobstate_settings": settings,
    }


def worker_conf(app: Celery, settings: Settings) -> dict[str, Any]:
    """:func:`settings_conf` plus a short broker poll, for an app a test worker runs.

    The worker's consumer is :class:`pipeline.consumer.Consumer` (it survives a Redis
    restart while a stage runs) unless the app names a consumer class of its own. What a
    lost connection does to running stages stays the app's own choice
    (``worker_cancel_long_running_tasks_on_connection_loss``): tests see what its
    production workers do.
    """
    options = dict(app.conf.broker_transport_options or {})
    options["polling_interval"] = WORKER_POLL_SECONDS
    conf = {
        **settings_conf(settings),
        "broker_transport_options": options,
        # Celery's coming default: left unset, it warns at start.
        "broker_connection_retry_on_startup": True,
    }
    if app.conf.worker_consumer in (None, CELERY_CONSUMER, CONSUMER):
        conf["worker_consumer"] = CONSUMER
    return conf


def drop_connections(app: Celery) -> None:
    """Forget the app's broker pool, producer pools and result backend.

    Celery builds each once from the URLs it then had; after the URLs change the next use
    must build them again. That includes remote control: kombu's ``Mailbox`` keeps the
    producer pool it first saw, so without this a ping or ``add_consumer`` after a rebind
    is published to the broker of an earlier test while its reply is awaited on the new
    one, and never answered. (Celery has no public call for this: ``close()`` would also
    unregister the app.)
    """
    cached: Any = app  # private attributes: celery-types does not declare them
    cached._pool = None
    cached._backend_cache = None  # a thread-safe backend is kept here...
    cached._local = threading.local()  # ...any other per thread
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    control = app.__dict__.get("control")
    if control is not None:
        # A cached_property: dropped, the next use evaluates Celery's lazy pool again.
        control.mailbox.__dict__.pop("producer_pool", None)


class AppBinding:
    """Changes to an app's settings that :meth:`restore` undoes.

    Each setting goes back to the value it had before the harness first changed it, so
    bindings of different settings may end in any order, and a setting changed again
    meanwhile (a worker writes the running task's settings) is put back all the same.
    """

    def __init__(self, app: Celery, changes: Mapping[str, Any]) -> None:
        self.app = app
        self.keys = tuple(changes)
        pristine = _PRISTINE.setdefault(app, {})
        for key in self.keys:
            pristine.setdefault(key, app.conf.get(key))
        app.conf.update(changes)
        drop_connections(app)

    def restore(self) -> None:
        """Put back every setting this binding changed."""
        pristine = _PRISTINE.get(self.app, {})
        self.app.conf.update({key: pristine[key] for key in self.keys if key in pristine})
        drop_connections(self.app)


_PRISTINE: weakref.WeakKeyDictionary[Celery, dict[str, Any]] = weakref.WeakKeyDictionary()
