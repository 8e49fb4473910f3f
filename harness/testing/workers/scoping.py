"""One worker, many tests: each task carries the scope of the test that sent it (no pytest).

A test's settings differ from the next test's only in ``key_prefix``, ``queue`` and
``work_dir`` (its *scope*). The test process marks every task it sends with its scope
(a message header); a worker that serves scopes (:func:`serve_scopes`) reads it as each
task starts and runs the task with that scope: its store writes under the test's prefix,
its stage files go to the test's folder and the next stage is sent to the test's queue,
carrying the same header. So one long-lived worker serves test after test with the
isolation of a worker per test.

Signal handlers are process-wide and connected on import, before any tracker connects
its own, so a failure Celery reports in a prefork worker's parent (a lost child) is
written with the failed task's scope too.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery, signals

from pipeline.connection import redis_client
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import Tracker

__all__ = [
    "HEADER",
    "SCOPED_FIELDS",
    "activate",
    "current",
    "deactivate",
    "scope_of",
    "serve_scopes",
    "shared_key",
]

HEADER = "jobstate_scope"
SCOPED_FIELDS = ("key_prefix", "queue", "work_dir")
REMEMBERED_TASKS = 1024
REMEMBERED_STORES = 16

TaskScope = dict[str, str]
"""The per-test part of the settings a task carries (key prefix, queue, work dir)."""


def scope_of(settings: Settings) -> TaskScope:
    """The per-test part of ``settings``."""
    return {name: str(getattr(settings, name)) for name in SCOPED_FIELDS}


def shared_key(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Everything in ``settings`` but the scope: tests with equal keys can share a worker."""
    scoped = {f"JOBSTATE_{name.upper()}" for name in SCOPED_FIELDS}
    return tuple(sorted((k, v) for k, v in settings.to_env().items() if k not in scoped))


class _Local(threading.local):
    scope: TaskScope | None = None


@dataclass
class _Active:
    scope: TaskScope
    store: JobStore | None


@dataclass
class _Served:
    base: Settings
    stores: _Stores
    previous: Callable[[], JobStore] | None
    users: int = 1


_local = _Local()
_active: _Active | None = None
_received: OrderedDict[str, TaskScope] = OrderedDict()
_served: weakref.WeakKeyDictionary[Celery, _Served] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def activate(settings: Settings, store: JobStore | None = None) -> None:
    """Mark tasks this process sends with the scope of ``settings`` (the running test).

    Served apps of this process use ``store`` for tasks of this scope (the test's own
    store, e.g. on fakeredis); other scopes get a store built from their settings.
    """
    global _active
    _active = _Active(scope_of(settings), store)


def deactivate() -> None:
    """Stop marking the tasks this process sends."""
    global _active
    _active = None


def current() -> TaskScope | None:
    """The scope of the task running in this thread, else the active test's."""
    if _local.scope is not None:
        return _local.scope
    return _active.scope if _active is not None else None


def _header(value: Any) -> TaskScope | None:
    if isinstance(value, Mapping) and set(SCOPED_FIELDS) <= set(value):
        return {name: str(value[name]) for name in SCOPED_FIELDS}
    return None


# -- signal handlers ------------------------------------------------------------------------


def _on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    scope = current()
    if scope is not None and headers is not None:
        headers.setdefault(HEADER, scope)


def _on_received(request: Any = None, **_: Any) -> None:
    scope = _header(getattr(request, "request_dict", {}).get(HEADER))
    if scope is None:
        return
    with _lock:
        _received[str(request.id)] = scope
        while len(_received) > REMEMBERED_TASKS:
            _received.popitem(last=False)


def _on_failure(task_id: str | None = None, **_: Any) -> None:
    # In a prefork parent a lost child's task never started here: take its scope from
    # the message, so the tracker (called after us) writes the failure to the right store.
    scope = _received.get(str(task_id))
    if scope is not None:
        _local.scope = scope


def _on_prerun(task: Any = None, **_: Any) -> None:
    scope = _header(task.request.get(HEADER)) if task is not None else None
    _local.scope = scope
    served = _served.get(task.app) if task is not None and scope is not None else None
    if served is not None and scope is not None:
        # The tracker reads its settings from the app; hand-offs go to the default queue.
        task.app.conf.jobstate_settings = served.base.with_(**scope)
        task.app.conf.task_default_queue = scope["queue"]


def _on_postrun(**_: Any) -> None:
    _local.scope = None


signals.before_task_publish.connect(_on_publish, weak=False)
signals.task_received.connect(_on_received, weak=False)
signals.task_failure.connect(_on_failure, weak=False)
signals.task_prerun.connect(_on_prerun, weak=False)
signals.task_postrun.connect(_on_postrun, weak=False)


# -- serving scopes -------------------------------------------------------------------------


class _Stores:
    """Stores of one served app, one per scope and process, on one client per process."""

    def __init__(self, tracker: Tracker, base: Settings) -> None:
        self.tracker = tracker
        self.base = base
        self._clients: dict[int, redis.Redis] = {}
        self._stores: OrderedDict[tuple[int, str], JobStore] = OrderedDict()

    def __call__(self) -> JobStore:
        scope = current()
        active = _active
        if active is not None and active.store is not None and scope == active.scope:
            return active.store
        settings = self.base.with_(**scope) if scope else self.base
        pid = os.getpid()
        key = (pid, settings.key_prefix)
        with _lock:
            store = self._stores.get(key)
            if store is None:
                client = self._clients.get(pid)
                if client is None:
                    client = self._clients[pid] = redis_client(self.base, health_check_interval=30)
                store = self._stores[key] = JobStore(client, self.tracker.workflow, settings)
                while len(self._stores) > REMEMBERED_STORES:
                    self._stores.popitem(last=False)
            self._stores.move_to_end(key)
            return store

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._stores.clear()


def serve_scopes(app: Celery, base: Settings) -> Callable[[], None]:
    """Run ``app``'s tracked tasks in the scope each one carries; returns the undo.

    ``base`` holds every setting but the scope. From now on the tracker's store is the
    store of the scope of the task at hand. Serving an app again only counts one more
    user; the last undo puts the tracker's previous store factory back.
    """
    tracker = Tracker.of(app)
    with _lock:
        served = _served.get(app)
        if served is None:
            stores = _Stores(tracker, base)
            _served[app] = _Served(base, stores, tracker.store_factory)
            tracker.store_factory = stores
        else:
            served.users += 1
    done = False

    def undo() -> None:
        nonlocal done
        with _lock:
            entry = _served.get(app)
            if done or entry is None:
                return
            done = True
            entry.users -= 1
            if entry.users == 0:
                del _served[app]
                tracker.store_factory = entry.previous
                entry.stores.close()

    return undo
