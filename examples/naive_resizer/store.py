"""The naive status store: one JSON record per job in Redis, read and written whole."""

from __future__ import annotations

import json
import os
from typing import Any

import redis
from celery import Celery

__all__ = ["load", "save"]

_clients: dict[tuple[int, str], redis.Redis] = {}


def _redis(app: Celery) -> redis.Redis:
    """A client of the app's broker Redis (one per process: prefork children fork)."""
    url = str(app.conf.broker_url)
    key = (os.getpid(), url)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(url, decode_responses=True)
    return _clients[key]


def load(app: Celery, job_id: str) -> dict[str, Any]:
    """The job's whole record (empty when there is none)."""
    text = _redis(app).get(f"naive:job:{job_id}")
    return json.loads(text) if text else {}


def save(app: Celery, job_id: str, record: dict[str, Any]) -> None:
    """Write the job's whole record back."""
    _redis(app).set(f"naive:job:{job_id}", json.dumps(record))
