"""Time limits for chosen tasks of an app, in this process and in a worker it starts.

Celery sends a task's time limits in its message, taken from the sending process's task
(bound from ``task_time_limit`` when the app is finalised, and cached at the task's first
send); a worker obeys them, and uses its own task's limits for a message without any. So
a short limit for one stage must be set on both sides: here, and in the worker through
:data:`TASK_LIMITS_ENV`, which the harness's worker reads at start. No pytest here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery

__all__ = ["TASK_LIMITS_ENV", "Limits", "limits_env", "limits_from_env", "set_task_limits"]

TASK_LIMITS_ENV = "JOBSTATE_TASK_TIME_LIMITS"
"""JSON ``{"task.name": [soft, hard]}`` a harness worker applies to its app's tasks."""

Limits = Mapping[str, tuple[float | None, float | None]]
"""Task name -> (soft, hard) time limit in seconds (``None``: no limit)."""


def set_task_limits(app: Celery, limits: Limits) -> dict[str, tuple[Any, Any]]:
    """Give each named task of ``app`` its (soft, hard) limit; returns what they had."""
    before: dict[str, tuple[Any, Any]] = {}
    for name, (soft, hard) in limits.items():
        task: Any = app.tasks[name]
        before[name] = (task.soft_time_limit, task.time_limit)
        task.soft_time_limit, task.time_limit = soft, hard
        task._exec_options = None  # Celery caches a task's send options at its first send
    return before


def limits_env(limits: Limits) -> dict[str, str]:
    """The environment that makes a harness worker apply ``limits``."""
    return {TASK_LIMITS_ENV: json.dumps({name: list(pair) for name, pair in limits.items()})}


def limits_from_env() -> dict[str, tuple[float | None, float | None]]:
    """The limits :data:`TASK_LIMITS_ENV` asks for (none when it is unset)."""
    raw = os.environ.get(TASK_LIMITS_ENV)
    if not raw:
        return {}
    return {name: (pair[0], pair[1]) for name, pair in json.loads(raw).items()}
