"""Redis fixtures: a real server, an isolated backend per test, settings and a store.

The backend comes from ``--jobstate-redis`` (``fake``, ``fake-tcp``, ``server``,
``cluster``, ``sentinel`` or a ``redis://`` URL; the topologies are in
:mod:`harness.topologies`), overridden per test by ``@pytest.mark.jobstate_redis("...")``. Every
test gets its own key prefix and queue name, so the same tests are safe on a private
server (flushed before each test) and on a shared one (never flushed; only the test's own
keys are deleted afterwards). Under pytest-xdist every worker process starts its own
session-scoped servers.

Other repos build variants with the factories::

    second_redis = redis_backend_fixture("server", retention_seconds=5)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import redis

from harness.faults import forget_pooled_connections
from harness.modes import URL, RedisMode, backend_kind
from harness.plugin import get_config, marker_value
from harness.workflow_option import configured_workflow
from pipeline.async_client import add_async_twin
from pipeline.procs.redis_server import FakeTcpRedis, RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import Workflow

__all__ = [
    "FAKE",
    "FAKE_TCP",
    "SERVER",
    "URL",
    "RedisBackend",
    "backend_kind",
    "delete_prefixed",
    "fake_async_twin",
    "make_redis_backend",
    "redis_backend_fixture",
    "redis_server_fixture",
    "unique_names",
]

FAKE, FAKE_TCP, SERVER = RedisMode.FAKE, RedisMode.FAKE_TCP, RedisMode.SERVER
CLUSTER, SENTINEL = RedisMode.CLUSTER, RedisMode.SENTINEL
FAKE_URL = "redis://fake"
Scope = Literal["session", "package", "module", "class", "function"]


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
    """The :class:`~harness.redis_cluster.RedisClusterServers` or
    :class:`~harness.redis_sentinel.RedisSentinelGroup` of the cluster/sentinel modes."""

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
        from harness.topologies import topology_backend  # it builds on this module

        return topology_backend(kind, chosen, topology, server, redis_exec)
    return _external(mode, chosen)


# -- wiring to pytest -----------------------------------------------------------------------


def redis_mode(request: pytest.FixtureRequest) -> str:
    """The test's Redis mode: its ``jobstate_redis`` marker, else ``--jobstate-redis``.

    A test on a real worker (``thread`` or ``prefork``, by marker or setting) needs a Redis
    other processes reach: when nothing chose the Redis mode, it gets ``fake-tcp`` rather
    than the in-process ``fake`` default. A ``fake`` chosen on purpose stays, and the
    Celery fixture names the conflict.
    """
    config = get_config(request.config)
    marked = marker_value(request, "jobstate_redis")
    mode = marked or config["redis"]
    if marked is None and config.source("redis") == "default" and mode == FAKE:
        celery = marker_value(request, "jobstate_celery") or config["celery"]
        mode = FAKE if celery == "eager" else FAKE_TCP
    try:
        backend_kind(mode)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    return mode


def open_backend(request: pytest.FixtureRequest, mode: str, **overrides: Any) -> RedisBackend:
    """A backend for ``mode`` that reuses the session servers of this worker process."""
    kind = backend_kind(mode)
    real = kind in {SERVER, CLUSTER, SENTINEL}  # the last two keep Celery on the server
    server = request.getfixturevalue("redis_server") if real else None
    fake_tcp = request.getfixturevalue("fake_tcp_server") if kind == FAKE_TCP else None
    topology = request.getfixturevalue(f"redis_{kind}") if kind in {CLUSTER, SENTINEL} else None
    return make_redis_backend(
        mode, server=server, fake_tcp=fake_tcp, topology=topology, **overrides
    )


def redis_backend_fixture(mode: str | None = None, **overrides: Any) -> Any:
    """Make a function-scoped backend fixture: fixed ``mode`` (default: the configured
    one) and settings ``overrides``. Assign it to a name in a ``conftest.py``."""

    @pytest.fixture
    def backend(request: pytest.FixtureRequest) -> Iterator[RedisBackend]:
        """Function: an isolated :class:`RedisBackend`; closed (clients, keys) at teardown."""
        chosen = mode or redis_mode(request)
        made = open_backend(request, chosen, **overrides)
        try:
            yield made
        finally:
            made.close()

    return backend


def redis_server_fixture(
    executable: str | None = None, *, scope: Scope = "session", **kwargs: Any
) -> Any:
    """Make a fixture yielding another started :class:`RedisServer` (closed at teardown).

    ``executable`` defaults to the ``--jobstate-redis-exec`` option; ``kwargs`` go to the
    class (``extra_config={"maxmemory": "10mb"}``, ``startup_timeout=...``).
    """

    @pytest.fixture(scope=scope)
    def server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
        """A started redis-server of its own; stopped and its data dir removed at teardown."""
        exe = executable or get_config(pytestconfig)["redis_exec"]
        with RedisServer(exe, **kwargs) as started:
            yield started

    return server


# -- the fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
    """Session: a real ``redis-server`` (AOF, ``appendfsync always``, temp dir, free port).

    Started on first use with the ``--jobstate-redis-exec`` binary; each pytest-xdist
    worker gets its own. Tests may ``stop()``, ``kill()`` or ``restart()`` it: the next
    test that needs it starts it again on the same port with the same data. Teardown:
    stopped and its data directory deleted.
    """
    with RedisServer(get_config(pytestconfig)["redis_exec"]) as server:
        yield server


@pytest.fixture(scope="session")
def fake_tcp_server() -> Iterator[FakeTcpRedis]:
    """Session: fakeredis served over TCP from a thread (the ``fake-tcp`` mode's server).

    Teardown: stops serving and joins its threads. Tests see it flushed before each test.
    """
    with FakeTcpRedis() as server:
        yield server


@pytest.fixture
def redis_backend(request: pytest.FixtureRequest) -> Iterator[RedisBackend]:
    """Function: this test's isolated :class:`RedisBackend` (mode, url, client, settings).

    Mode from ``@pytest.mark.jobstate_redis("...")`` or ``--jobstate-redis``: ``fake`` a
    fresh in-process FakeServer; ``fake-tcp`` the session fake TCP server, flushed;
    ``server`` the session redis-server, FLUSHALL first; ``cluster``/``sentinel`` the
    session Redis Cluster or sentinel group, flushed, with Celery's broker and results on
    the session redis-server; a URL: a shared Redis, never flushed. Settings carry a
    unique ``key_prefix`` and ``queue``. Teardown: with a URL, deletes only this test's
    keys; always closes every client it handed out.
    """
    backend = open_backend(request, redis_mode(request))
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def redis_client(redis_backend: RedisBackend) -> redis.Redis:
    """Function: a redis-py client (bytes replies) on this test's Redis.

    ``redis_backend.client``; closed with the backend at teardown.
    """
    return redis_backend.client


@pytest.fixture
def jobstate_settings(redis_backend: RedisBackend) -> Settings:
    """Function: :class:`Settings` for this test: its Redis URL, unique key prefix and queue.

    A frozen copy (change it with ``.with_(...)``); nothing to tear down.
    """
    return redis_backend.settings


@pytest.fixture(scope="session")
def jobstate_workflow(pytestconfig: pytest.Config) -> Workflow:
    """Session: the :class:`Workflow` named by ``--jobstate-workflow`` (module:attribute),
    else the workflow of the tracker on the ``jobstate_app`` app.

    Loaded once per session; nothing to tear down.
    """
    return configured_workflow(pytestconfig)


@pytest.fixture
def state_store(
    redis_client: redis.Redis, jobstate_workflow: Workflow, jobstate_settings: Settings
) -> JobStore:
    """Function: a :class:`JobStore` for the configured workflow on this test's Redis.

    Uses ``redis_client`` and ``jobstate_settings`` (unique key prefix); its client is
    closed with the backend at teardown.
    """
    return JobStore(redis_client, jobstate_workflow, jobstate_settings)
