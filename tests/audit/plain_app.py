"""A plain Celery app with no tracker: tasks that leave marks in Redis for the tests to read.

``first`` hands off to ``second`` and then writes; ``swallow`` catches every exception.
Used by :mod:`tests.audit.test_task_faults` (task-level faults on any task).
"""

from __future__ import annotations

import os

import redis
from celery import Celery

app = Celery("plain")
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])

_clients: dict[int, redis.Redis] = {}


def _redis() -> redis.Redis:
    if os.getpid() not in _clients:
        _clients[os.getpid()] = redis.Redis.from_url(str(app.conf.broker_url))
    return _clients[os.getpid()]


def mark(key: str, what: str) -> None:
    """Leave the mark ``what`` for ``key``."""
    _redis().sadd(f"plain:{key}", what)


@app.task(name="plain.first")
def first(key: str) -> str:
    """Mark, hand off to ``second``, mark again."""
    mark(key, "first started")
    second.delay(key)
    mark(key, "first after its hand-off")
    return key


@app.task(name="plain.second")
def second(key: str) -> str:
    """Mark."""
    mark(key, "second ran")
    return key


@app.task(name="plain.step")
def step(key: str) -> str:
    """Mark; the first link of a chain to ``second``."""
    mark(key, "step ran")
    return key


@app.task(name="plain.swallow")
def swallow(key: str) -> str:
    """Catch whatever its work raises."""
    try:
        mark(key, "swallow started")
    except Exception:
        _redis().sadd(f"plain:{key}", "swallowed")
    return key
