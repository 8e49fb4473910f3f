"""The one start-up check of a ``--jobstate-redis`` URL: does a Redis answer there?

A URL nobody answers at would fail every test that touches Redis, each at its setup and
again at its teardown, each with a redis-py traceback. Asked once before the first test,
it is one error line naming the option, where it was set and what Redis said.
"""

from __future__ import annotations

import redis

from harness.config import JobstateConfig
from harness.modes import URL, backend_kind
from pipeline.redaction import DEFAULT, redact_url

__all__ = ["unreachable_redis"]

PING_TIMEOUT = 3.0
"""Seconds to connect and to hear the answer: a Redis that needs more is no test backend."""


def unreachable_redis(cfg: JobstateConfig) -> str | None:
    """Why the configured ``--jobstate-redis`` URL cannot serve the run, or None (it
    answers, or the mode is not a URL: the harness starts those servers itself)."""
    url = cfg["redis"]
    if backend_kind(url) != URL:
        return None
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=PING_TIMEOUT,
        socket_timeout=PING_TIMEOUT,
        retry_on_timeout=False,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return (
            f"--jobstate-redis={redact_url(url)} (from {cfg.source('redis')}): no Redis "
            f"answers there ({type(exc).__name__}: {DEFAULT.text(str(exc))})"
        )
    finally:
        client.close()
    return None
