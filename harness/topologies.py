"""Redis Cluster and Redis Sentinel fixtures, and the ``cluster``/``sentinel`` backends.

``--jobstate-redis=cluster`` runs every test's store on a real 3-primary Redis Cluster
through redis-py's ``RedisCluster``; ``--jobstate-redis=sentinel`` on a primary with a
replica behind 3 sentinels, through a client that follows failovers. Celery cannot use
either as broker or result backend, so both modes put those on the session
``redis_server`` (a plain Redis), as a deployment on such a topology must.

Other repos build more with the factories::

    big_cluster = redis_cluster_fixture(primaries=4)
    lone_sentinel = redis_sentinel_fixture(sentinels=1)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.plugin import get_config
from harness.redis import CLUSTER, RedisBackend, Scope
from harness.redis_cluster import RedisClusterServers
from harness.redis_sentinel import RedisSentinelGroup
from pipeline.connection import redis_client
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings

__all__ = [
    "redis_cluster",
    "redis_cluster_fixture",
    "redis_sentinel",
    "redis_sentinel_fixture",
    "topology_backend",
]

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


def redis_cluster_fixture(*, scope: Scope = "session", **kwargs: Any) -> Any:
    """Make a fixture yielding another started :class:`RedisClusterServers` (closed at
    teardown); ``kwargs`` go to the class (``primaries=4``, ``node_timeout_ms=...``)."""

    @pytest.fixture(scope=scope)
    def cluster(pytestconfig: pytest.Config) -> Iterator[RedisClusterServers]:
        """A started Redis Cluster of its own; every node stopped and removed at teardown."""
        kwargs.setdefault("executable", get_config(pytestconfig)["redis_exec"])
        with RedisClusterServers(**kwargs) as started:
            yield started

    return cluster


def redis_sentinel_fixture(*, scope: Scope = "session", **kwargs: Any) -> Any:
    """Make a fixture yielding another started :class:`RedisSentinelGroup` (closed at
    teardown); ``kwargs`` go to the class (``sentinels=1``, ``replicas=2``, ...)."""

    @pytest.fixture(scope=scope)
    def group(pytestconfig: pytest.Config) -> Iterator[RedisSentinelGroup]:
        """A started sentinel group of its own; every process stopped at teardown."""
        kwargs.setdefault("executable", get_config(pytestconfig)["redis_exec"])
        with RedisSentinelGroup(**kwargs) as started:
            yield started

    return group


@pytest.fixture(scope="session")
def redis_cluster(pytestconfig: pytest.Config) -> Iterator[RedisClusterServers]:
    """Session: a real Redis Cluster of 3 primaries (``redis-cli --cluster create``).

    Nodes run the ``--jobstate-redis-exec`` binary with ``cluster-enabled yes`` on free
    ports, AOF on temp dirs; ready once every node reports ``cluster_state:ok``. Each
    pytest-xdist worker gets its own. Used by ``--jobstate-redis=cluster``, flushed before
    each test. Teardown: every node stopped and its data removed.
    """
    with RedisClusterServers(executable=get_config(pytestconfig)["redis_exec"]) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(pytestconfig: pytest.Config) -> Iterator[RedisSentinelGroup]:
    """Session: a primary, one replica and 3 sentinels (quorum 2) on free ports.

    ``.url`` is the ``redis+sentinel://`` URL the store takes; ``kill_primary()``,
    ``wait_for_failover()`` and ``heal()`` drive a failover. Used by
    ``--jobstate-redis=sentinel``, which heals the group and flushes the primary before
    each test. Teardown: every process stopped and its data removed.
    """
    exe = get_config(pytestconfig)["redis_exec"]
    with RedisSentinelGroup(executable=exe) as group:
        yield group
