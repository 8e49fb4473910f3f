"""An asyncio client reaching the same Redis as a redis-py client: the web API's read path.

:func:`async_twin` turns the store's synchronous client (one server over TCP, TLS or a
Unix socket, a Redis Cluster, or a primary found through Redis Sentinel) into a
``redis.asyncio`` client with the same address, database and credentials, so a reader
in an event loop asks Redis directly instead of hopping through a thread pool. A client
of another kind (a test double, say) is turned into its asyncio twin by a maker added
with :func:`add_async_twin`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.sentinel import SentinelConnectionPool

__all__ = ["POOL_SIZE", "AsyncTwin", "add_async_twin", "async_twin"]

POOL_SIZE = 32
"""Connections one process's asyncio pool keeps at most; a request beyond waits for one."""

AsyncTwin = Callable[[redis.Redis], "aredis.Redis | None"]
"""Makes the asyncio twin of a client it knows, or returns ``None`` for any other."""

_MAKERS: list[AsyncTwin] = []

# What may carry over from a synchronous connection: where, who, how long to wait, how to
# decode. Nothing else (retry objects and pool hooks differ between the two libraries).
_CARRIED = frozenset(
    {
        "host",
        "port",
        "path",
        "db",
        "username",
        "password",
        "credential_provider",
        "client_name",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_keepalive_options",
        "decode_responses",
        "encoding",
        "encoding_errors",
        "protocol",
    }
)

_CONNECTIONS: dict[type[Any], type[aredis.Connection] | type[aredis.UnixDomainSocketConnection]] = {
    redis.SSLConnection: aredis.SSLConnection,
    redis.UnixDomainSocketConnection: aredis.UnixDomainSocketConnection,
    redis.Connection: aredis.Connection,
}


def add_async_twin(maker: AsyncTwin) -> None:
    """Let :func:`async_twin` turn more kinds of client into asyncio ones (tried first,
    newest first; once per maker)."""
    if maker not in _MAKERS:
        _MAKERS.append(maker)


def _retry() -> Retry:
    # A pooled connection that a Redis restart cut is found dead on use: reconnect at
    # once, then back off briefly. The caller's deadline bounds the whole read.
    return Retry(ExponentialBackoff(cap=0.25, base=0.02), 3)


def _accepted(cls: type[Any]) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names


def _carried(kwargs: dict[str, Any], cls: type[Any]) -> dict[str, Any]:
    allowed = _accepted(cls)
    return {
        k: v
        for k, v in kwargs.items()
        if k in allowed and (k in _CARRIED or k.startswith("ssl_")) and v is not None
    }


def _single(client: redis.Redis) -> aredis.Redis | None:
    pool = client.connection_pool
    kind = next((a for s, a in _CONNECTIONS.items() if issubclass(pool.connection_class, s)), None)
    if kind is None or pool.connection_class.__module__.split(".")[0] != "redis":
        return None
    options = _carried(dict(pool.connection_kwargs), kind)
    blocking = aredis.BlockingConnectionPool(
        connection_class=kind, max_connections=POOL_SIZE, timeout=None, **options
    )
    blocking.connection_kwargs["retry"] = _retry()
    return aredis.Redis.from_pool(blocking)  # owns the pool: closing the client closes it


class _SentinelTwin(aredis.Redis):
    """A primary's asyncio client that, closed, also closes the sentinels it asks."""

    watcher: AsyncSentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the client, its pool and the clients of the sentinels behind it."""
        try:
            await super().aclose(close_connection_pool)
        finally:
            for asked in self.watcher.sentinels if self.watcher else ():
                await asked.aclose()


def _sentinel(client: redis.Redis) -> aredis.Redis | None:
    pool = client.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return None
    manager = pool.sentinel_manager
    sentinels = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in manager.sentinels
    ]
    # The sentinels' own options pass the same gate as the primary's: redis-py adds a
    # synchronous Retry to them, which an asyncio client converts with a warning.
    watched = _carried(dict(manager.sentinel_kwargs), aredis.Connection)
    watcher = AsyncSentinel(sentinels, sentinel_kwargs=watched)
    options = _carried(dict(pool.connection_kwargs), aredis.Connection)
    options.pop("host", None)
    options.pop("port", None)
    twin: _SentinelTwin = watcher.master_for(
        pool.service_name, redis_class=_SentinelTwin, retry=_retry(), **options
    )
    twin.watcher = watcher
    return twin


def _cluster(client: Any) -> aredis.Redis | None:
    if not isinstance(client, RedisCluster):
        return None
    manager = client.nodes_manager
    nodes = [ClusterNode(n.host, n.port) for n in manager.startup_nodes.values()]
    options = _carried(dict(manager.connection_kwargs), AsyncRedisCluster)
    options.pop("host", None)
    options.pop("port", None)
    twin = AsyncRedisCluster(startup_nodes=nodes, max_connections=POOL_SIZE, **options)
    return cast(aredis.Redis, twin)  # not a subclass, but serves every command the reads use


def async_twin(client: redis.Redis) -> aredis.Redis:
    """A new ``redis.asyncio`` client for the Redis ``client`` talks to.

    Same address, database, credentials, timeouts and decoding; a bounded pool of
    :data:`POOL_SIZE` connections opened on first use, in the event loop that uses it.
    Raises :class:`TypeError` naming the client's type when no maker knows it.
    """
    for maker in [*reversed(_MAKERS), _cluster, _sentinel, _single]:
        twin = maker(client)
        if twin is not None:
            return twin
    raise TypeError(
        f"no asyncio twin for a {type(client).__module__}.{type(client).__name__}: "
        "register one with pipeline.async_client.add_async_twin, or hand the web app "
        "its own reads (ui.app.create_app(..., reads=...))"
    )
