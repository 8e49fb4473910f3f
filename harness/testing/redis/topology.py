"""Backends on a real Redis Cluster or Sentinel group, with Celery on a plain server
(no pytest here; :mod:`harness.fixtures.topologies` holds the fixtures)."""

from __future__ import annotations

from harness.testing.redis.backend import CLUSTER, RedisBackend
from harness.testing.redis.cluster import RedisClusterServers
from harness.testing.redis.sentinel import RedisSentinelGroup
from pipeline.connection import redis_client
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings

__all__ = ["Topology", "topology_backend"]

Topology = RedisClusterServers | RedisSentinelGroup


def _owned(topology: Topology | None, kind: str, redis_exec: str) -> tuple[Topology, bool]:
    if topology is not None:
        return topology, False
    if kind == CLUSTER:
        return RedisClusterServers(executable=redis_exec), True
    return RedisSentinelGroup(executable=redis_exec), True


def _revive(topology: Topology) -> None:
    """Bring back whatever an earlier test stopped or killed."""
    if isinstance(topology, RedisSentinelGroup):
        topology.heal()
    else:
        topology.start()


def topology_backend(
    kind: str,
    settings: Settings,
    topology: Topology | None,
    broker: RedisServer | None,
    redis_exec: str = "redis-server",
) -> RedisBackend:
    """A flushed backend on a cluster or sentinel group (started and owned when ``None``),
    with Celery's broker and results on ``broker`` (a plain server, owned when ``None``)."""
    made, owns_topology = _owned(topology, kind, redis_exec)
    side = broker or RedisServer(redis_exec)
    cleanups = [made.close] if owns_topology else []
    if broker is None:
        cleanups.append(side.close)
    try:
        _revive(made)
        side.start()
        url = made.url
        chosen = settings.with_(
            redis_url=url, cluster=kind == CLUSTER, broker_url=side.url, result_url=side.url
        )
        client = redis_client(chosen)
        client.flushall()
        with side.client() as plain:
            plain.flushall()
    except BaseException:
        for cleanup in reversed(cleanups):
            cleanup()
        raise
    backend = RedisBackend(kind, url, client, chosen, None, lambda: redis_client(chosen))
    backend.topology = made
    for cleanup in cleanups:
        backend.on_close(cleanup)
    return backend
