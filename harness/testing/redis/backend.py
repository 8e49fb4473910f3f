"""An isolated Redis for one test, in any mode: fake, fake-tcp, server, URL, cluster,
sentinel (no pytest here; :mod:`harness.fixtures.redis` wires it to the options).

Every backend gets its own key prefix and queue name, so the same tests are safe on a
private server (flushed first) and on a shared one (never flushed; only the test's own keys
are deleted afterwards).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from harness.modes import URL, RedisMode, backend_kind
from harness.testing.chaos.injector import forget_pooled_connections
from harness.testing.redis.cluster import RedisClusterServers
from harness.testing.redis.sentinel import RedisSentinelGroup
from pipeline.async_client import add_async_twin
from pipeline.connection import redis_client
from pipeline.procs.redis_server import FakeTcpRedis, RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import Workflow

__all__ = [
    "CLUSTER",
    "FAKE",
    "FAKE_TCP",
    "SENTINEL",
    "SERVER",
    "URL",
    "RedisBackend",
    "Topology",
    "backend_kind",
    "delete_prefixed",
    "fake_async_twin",
    "make_redis_backend",
    "topology_backend",
    "unique_names",
]

FAKE, FAKE_TCP, SERVER = RedisMode.FAKE, RedisMode.FAKE_TCP, RedisMode.SERVER
CLUSTER, SENTINEL = RedisMode.CLUSTER, RedisMode.SENTINEL
FAKE_URL = "redis://fake"


def unique_names() -> tuple[str, str]:
    """A fresh ``(key_prefix, queue)`` pair; the queue name starts with the prefix."""
    prefix = f"jobstate-test-{uuid.uuid4().hex[:16]}"
    return prefix, f"{prefix}-queue"


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def delete_prefixed(client: redis.Redis, prefix: str, *extra: str) -> int:
    """Delete every key starting with ``prefix`` (SCAN, never KEYS) plus ``extra`` keys."""
    deleted = 0
    batch: list[Any] = list(extra)
    for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


@dataclass
class RedisBackend:
    """One test's Redis: a client, settings with a unique prefix and queue, and its server.

    ``mode`` is ``fake``, ``fake-tcp``, ``server`` or ``url``; ``url`` is what other
    processes connect to (``None`` for ``fake``, which lives in this process only).
    """

    mode: str
    url: str | None
    client: redis.Redis = field(repr=False)
    settings: Settings
    server: RedisServer | None
    connect: Callable[[], redis.Redis] = field(repr=False)
    _clients: list[redis.Redis] = field(default_factory=list, repr=False)
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)
    topology: Any = None
    """The :class:`~harness.testing.redis.cluster.RedisClusterServers` or
    :class:`~harness.testing.redis.sentinel.RedisSentinelGroup` of the cluster/sentinel modes."""

    def make_client(self) -> redis.Redis:
        """A new client to the same data (closed with the backend)."""
        client = self.connect()
        self._clients.append(client)
        return client

    def store(self, workflow: Workflow, **changes: Any) -> JobStore:
        """A :class:`JobStore` on this backend's client, with some settings changed."""
        return JobStore(self.client, workflow, self.settings.with_(**changes))

    def on_close(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` when the backend closes (last registered runs first)."""
        self._cleanups.append(cleanup)

    def close(self) -> None:
        """Tear down: run the cleanups, then close every client this backend handed out."""
        try:
            while self._cleanups:
                self._cleanups.pop()()
        finally:
            for client in [self.client, *self._clients]:
                client.close()
            self._clients.clear()


def _from_url(url: str) -> Callable[[], redis.Redis]:
    return lambda: redis.Redis.from_url(url)


def _settings(url: str, base: Settings | None, overrides: dict[str, Any]) -> Settings:
    prefix, queue = unique_names()
    changes = {"redis_url": url, "key_prefix": prefix, "queue": queue, **overrides}
    return (base or Settings()).with_(**changes)


def fake_async_twin(client: redis.Redis) -> Any:
    """The asyncio client of a fakeredis client's server (the web API reads through one),
    or ``None`` for any other client."""
    if not type(client).__module__.startswith("fakeredis"):
        return None
    import fakeredis

    options = client.connection_pool.connection_kwargs
    decode = bool(options.get("decode_responses", False))
    return fakeredis.FakeAsyncRedis(server=options["server"], decode_responses=decode)


add_async_twin(fake_async_twin)


def _fake(settings: Settings) -> RedisBackend:
    import fakeredis  # loaded by the first test on fake Redis, not by every run

    server = fakeredis.FakeServer()

    def connect() -> redis.Redis:
        client: redis.Redis = fakeredis.FakeRedis(server=server)
        return client

    return RedisBackend(FAKE, None, connect(), settings, None, connect)


def _flushed(kind: str, url: str, settings: Settings, server: RedisServer | None) -> RedisBackend:
    connect = _from_url(url)
    client = connect()
    client.flushall()
    return RedisBackend(kind, url, client, settings, server, connect)


def _fake_tcp(settings: Settings, fake_tcp: FakeTcpRedis | None) -> RedisBackend:
    owned = fake_tcp is None
    tcp = (fake_tcp or FakeTcpRedis()).start()
    backend = _flushed(FAKE_TCP, tcp.url, settings.with_(redis_url=tcp.url), None)
    if owned:
        backend.on_close(tcp.stop)
    return backend


_SERVER_PIDS: dict[tuple[str, int], int | None] = {}
"""The process last seen behind each server address by a test of this process."""


def _forget_dead_connections(server: RedisServer) -> None:
    """kombu pools broker connections per URL for the whole process, and Celery's apps take
    theirs from there. When the process behind the URL changed since the last test (a test
    stopped, killed or restarted it, with the fault injector or not), the pooled sockets
    are dead: close them before this test meets one."""
    address = (server.host, server.port)
    if _SERVER_PIDS.get(address, server.pid) != server.pid:
        forget_pooled_connections(*address)
    _SERVER_PIDS[address] = server.pid


def _server(settings: Settings, server: RedisServer | None, redis_exec: str) -> RedisBackend:
    owned = server is None
    real = server or RedisServer(redis_exec)
    real.start()  # also revives a shared server that an earlier test stopped or killed
    _forget_dead_connections(real)
    backend = _flushed(SERVER, real.url, settings.with_(redis_url=real.url), real)
    if owned:
        backend.on_close(real.close)
    return backend


def _external(url: str, settings: Settings) -> RedisBackend:
    connect = _from_url(url)
    client = connect()
    backend = RedisBackend(URL, url, client, settings, None, connect)
    binding = f"_kombu.binding.{settings.queue}"

    def forget_own_keys() -> None:
        delete_prefixed(client, settings.key_prefix, binding)

    backend.on_close(forget_own_keys)
    return backend


def make_redis_backend(
    mode: str,
    *,
    server: RedisServer | None = None,
    fake_tcp: FakeTcpRedis | None = None,
    redis_exec: str = "redis-server",
    settings: Settings | None = None,
    topology: Any = None,
    **overrides: Any,
) -> RedisBackend:
    """Build an isolated backend for ``mode``; call :meth:`RedisBackend.close` when done.

    ``server``/``fake_tcp`` reuse a running server (else one is started and owned by the
    backend). ``settings`` is the base to copy (default: :class:`Settings` defaults);
    ``overrides`` change fields after the unique ``key_prefix`` and ``queue`` are set.
    ``server`` and ``fake-tcp`` flush the whole server first; a URL is never flushed.
    """
    kind = backend_kind(mode)
    url = mode if kind == URL else FAKE_URL
    chosen = _settings(url, settings, overrides)
    if kind == FAKE:
        return _fake(chosen)
    if kind == FAKE_TCP:
        return _fake_tcp(chosen, fake_tcp)
    if kind == SERVER:
        return _server(chosen, server, redis_exec)
    if kind in {CLUSTER, SENTINEL}:
        return topology_backend(kind, chosen, topology, server, redis_exec)
    return _external(mode, chosen)


# -- Redis Cluster and Sentinel: the store there, Celery on a plain server ---------------


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
