"""The redis-py client a deployment needs: one server, Redis Cluster or Redis Sentinel.

``JOBSTATE_REDIS_URL`` picks it:

- ``redis://``, ``rediss://``, ``unix://``: one server (``redis.Redis``); with
  ``JOBSTATE_CLUSTER=1`` the URL names a startup node of a Redis Cluster
  (``redis.cluster.RedisCluster``, which finds every node and follows slot moves).
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>[/<db>]``: the
  sentinels to ask for the primary named ``<master>``. The client follows failovers:
  connection errors are retried with backoff for ``failover_seconds`` while the sentinels
  promote a replica. The credentials are those of the data nodes, not the sentinels.

Celery's Redis transport and result backend speak neither Cluster nor this URL, so such a
deployment sets ``JOBSTATE_BROKER_URL`` and ``JOBSTATE_RESULT_URL``
(:func:`check_celery_urls` says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from pipeline.settings import Settings, SettingsError
from pipeline.urls import broker_url_problem, result_url_problem

__all__ = [
    "SENTINEL_SCHEME",
    "SentinelUrl",
    "check_celery_urls",
    "is_sentinel_url",
    "parse_sentinel_url",
    "redis_client",
    "sentinel_client",
]

SENTINEL_SCHEME = "redis+sentinel://"
BACKOFF_CAP = 0.5
SENTINEL_TIMEOUT = 1.0


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def is_sentinel_url(url: str) -> bool:
    """True for a ``redis+sentinel://`` URL."""
    return url.startswith(SENTINEL_SCHEME)


def _bad(url: str, problem: str) -> ValueError:
    # Never echo the URL itself: it may carry a password.
    return ValueError(
        f"sentinel URL {problem}: expected "
        "redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>[/<db>]"
    )


def _address(url: str, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(url, f"has a sentinel address without host:port ({text!r})")
    return host.strip("[]"), int(port)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    if not sep:
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) or None


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Split a ``redis+sentinel://`` URL into sentinels, master name, db and credentials."""
    if not is_sentinel_url(url):
        raise _bad(url, f"must start with {SENTINEL_SCHEME}")
    rest = url[len(SENTINEL_SCHEME) :].split("?", 1)[0]
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    parts = [p for p in path.split("/") if p]
    if not hosts:
        raise _bad(url, "names no sentinel")
    if not parts or len(parts) > 2:
        raise _bad(url, "needs the master name as its path")
    if len(parts) == 2 and not parts[1].isdigit():
        raise _bad(url, f"has a database that is not a number ({parts[1]!r})")
    sentinels = tuple(_address(url, h) for h in hosts.split(",") if h)
    user, password = _credentials(userinfo)
    db = int(parts[1]) if len(parts) == 2 else 0
    return SentinelUrl(sentinels, unquote(parts[0]), db, user, password)


def _retry(failover_seconds: float) -> Retry:
    # Backoff 0.1, 0.2, 0.4, then every 0.5 s: enough tries to span ``failover_seconds``.
    retries = 3 + int(failover_seconds / BACKOFF_CAP)
    return Retry(ExponentialBackoff(cap=BACKOFF_CAP, base=0.05), retries)


def sentinel_client(url: str, *, failover_seconds: float = 15.0, **kwargs: Any) -> redis.Redis:
    """A client of the primary behind the sentinels of ``url``; it asks the sentinels
    again on every reconnect and retries connection errors for ``failover_seconds``."""
    parsed = parse_sentinel_url(url)
    options: dict[str, Any] = {
        "db": parsed.db,
        "username": parsed.username,
        "password": parsed.password,
        "retry": _retry(failover_seconds),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        **kwargs,
    }
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
        list(parsed.sentinels),
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
        },
    )
    client: redis.Redis = sentinel.master_for(parsed.master, **options)  # type: ignore[no-untyped-call,unused-ignore]
    return client


def redis_client(settings: Settings, **kwargs: Any) -> redis.Redis:
    """The client ``settings`` describe (see the module docs); ``kwargs`` go to redis-py.

    A ``RedisCluster`` is returned for ``settings.cluster``: it is not a ``redis.Redis``
    subclass but offers every command the store uses.
    """
    url = settings.redis_url
    if is_sentinel_url(url):
        return sentinel_client(url, **kwargs)
    if settings.cluster:
        return cast(redis.Redis, RedisCluster.from_url(url, **kwargs))
    return redis.Redis.from_url(url, **kwargs)


def check_celery_urls(settings: Settings) -> None:
    """Refuse settings that would hand Celery a broker or result backend it cannot use
    because ``JOBSTATE_BROKER_URL`` or ``JOBSTATE_RESULT_URL`` is unset and the store's
    Redis URL stands in (a Redis Cluster, a sentinel URL, a Unix socket), naming the
    variables to set. Their own values were checked as the settings were read."""
    derived = (
        ("JOBSTATE_BROKER_URL", settings.broker_url, settings.broker, broker_url_problem),
        ("JOBSTATE_RESULT_URL", settings.result_url, settings.results, result_url_problem),
    )
    problems = {
        name: "" if settings.cluster else (problem(url) or "")
        for name, own, url, problem in derived
        if not own and (settings.cluster or problem(url) is not None)
    }
    if not problems:
        return
    fix = f"set {' and '.join(problems)}"
    special = _special_store(settings)
    if special is not None:
        kind, example = special
        raise SettingsError(
            f"the job store is on {kind}, which Celery cannot use as broker or result "
            f"backend: {fix} (e.g. {example})"
        )
    said = "; ".join(
        f"{name} is unset and JOBSTATE_REDIS_URL, used in its place, {problem}"
        for name, problem in problems.items()
    )
    raise SettingsError(f"{said}: {fix} (e.g. {_PLAIN})")


_PLAIN = "amqp://... or the redis:// URL of a plain Redis"


def _special_store(settings: Settings) -> tuple[str, str] | None:
    """A store Celery cannot reach by its URL at all, and an example of what to set
    instead; None for a URL that only needs changing."""
    if settings.cluster:
        return "Redis Cluster (JOBSTATE_CLUSTER=1)", _PLAIN
    if is_sentinel_url(settings.redis_url):
        return "Redis Sentinel", f"{_PLAIN}, or kombu's sentinel://host:26379 URLs"
    if settings.redis_url.lower().startswith("unix://"):
        return "a Unix socket (unix://)", "redis+socket:///path/to/redis.sock, as Celery names it"
    return None
