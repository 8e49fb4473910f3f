"""Start-up checks of the configured Redis: a Redis answers at the URL, or the
``redis-server`` the harness is to start exists.

Either one missing would fail every test that touches Redis, each at its setup and again
at its teardown, each with a traceback. Asked once before the first test, it is one error
line naming the option, where it was set and what is wrong.
"""

from __future__ import annotations

import redis

from harness.config import JobstateConfig
from harness.modes import URL, CeleryMode, RedisMode, backend_kind
from pipeline.procs.redis_server import RedisServerNotFound, find_binary
from pipeline.redaction import DEFAULT, redact_url

__all__ = ["redis_problem", "unreachable_redis"]

STARTED = frozenset({RedisMode.SERVER, RedisMode.CLUSTER, RedisMode.SENTINEL})
"""Modes in which the harness starts ``redis-server`` processes itself."""


def redis_problem(cfg: JobstateConfig) -> str | None:
    """Why the configured Redis cannot serve the run, or None."""
    celery = cfg["celery"]
    chose_fake = cfg["redis"] == RedisMode.FAKE and cfg.source("redis") != "default"
    if chose_fake and celery != CeleryMode.EAGER:
        return (
            f"{cfg.spelled('celery')}={celery} ({cfg.source('celery')}) needs a Redis other "
            f"processes can reach, and {cfg.spelled('redis')}=fake ({cfg.source('redis')}) lives "
            f"in the test process only: set {cfg.spelled('redis')} to fake-tcp, server or a "
            "redis:// URL, or leave it unset (tests on real workers then get fake-tcp)"
        )
    if cfg["redis"] in STARTED:
        try:
            find_binary(cfg["redis_exec"], cfg.spelled("redis_exec"))
        except RedisServerNotFound as exc:
            return f"{cfg.spelled('redis')}={cfg['redis']} ({cfg.source('redis')}): {exc}"
        return None
    return unreachable_redis(cfg)


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
            f"{cfg.spelled('redis')}={redact_url(url)} (from {cfg.source('redis')}): no Redis "
            f"answers there ({type(exc).__name__}: {DEFAULT.text(str(exc))})"
        )
    finally:
        client.close()
    return None
