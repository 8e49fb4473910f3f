"""The one list of Redis modes and Celery modes the plugin accepts (no pytest here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "URL",
    "URL_SCHEMES",
    "CeleryMode",
    "RedisMode",
    "backend_kind",
    "celery_mode_help",
    "redis_mode_help",
]


class RedisMode(StrEnum):
    """``--jobstate-redis`` values besides a URL."""

    FAKE = "fake"
    """fakeredis in this process (the default)."""
    FAKE_TCP = "fake-tcp"
    """fakeredis served over TCP, reachable from worker processes."""
    SERVER = "server"
    """A real ``redis-server`` process per session."""
    CLUSTER = "cluster"
    """A real Redis Cluster of ``redis-server`` processes."""
    SENTINEL = "sentinel"
    """A real primary, replicas and sentinels."""


class CeleryMode(StrEnum):
    """``--jobstate-celery`` values."""

    EAGER = "eager"
    """Tasks run in the test's thread (Celery's emulation; the fast default)."""
    THREAD = "thread"
    """A real worker in a thread of the test process."""
    PREFORK = "prefork"
    """A real prefork worker subprocess."""


URL = "url"
"""What :func:`backend_kind` says of a ``redis://``, ``rediss://`` or ``unix://`` URL."""
URL_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_mode_help() -> str:
    """The accepted ``--jobstate-redis`` values, for help texts and errors."""
    return ", ".join(RedisMode) + " or a " + ", ".join(URL_SCHEMES) + " URL"


def celery_mode_help() -> str:
    """The accepted ``--jobstate-celery`` values, for help texts and errors."""
    return ", ".join(CeleryMode)


def backend_kind(mode: str) -> str:
    """The :class:`RedisMode` value of a ``--jobstate-redis`` value, or :data:`URL`."""
    if mode in set(RedisMode):
        return mode
    if mode.lower().startswith(URL_SCHEMES):
        return URL
    raise ValueError(f"jobstate redis mode {shown_mode(mode)} must be {redis_mode_help()}")


def shown_mode(mode: str) -> str:
    """A ``--jobstate-redis`` value as messages show it: a URL's credentials masked."""
    if "://" not in mode:
        return repr(mode)
    from pipeline.settings import redact_url

    return repr(redact_url(mode))
