"""Redis Sentinel for tests: a primary, replicas and sentinels (no pytest in here).

:class:`RedisSentinelGroup` starts a primary ``redis-server``, replicas of it and
``redis-sentinel`` processes that watch them, all on free local ports, and waits until
every sentinel sees the whole group. :meth:`RedisSentinelGroup.kill_primary` SIGKILLs the
current primary; :meth:`RedisSentinelGroup.wait_for_failover` waits until the sentinels
have promoted a replica; :meth:`RedisSentinelGroup.heal` brings every stopped server back
as a replica of the current primary. Other repos can use it from their ``conftest.py``::

    with RedisSentinelGroup() as group:
        client = group.client()  # follows the primary through failovers
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Self

import redis
from redis.sentinel import Sentinel

from pipeline.connection import SENTINEL_SCHEME, sentinel_client
from pipeline.procs.lifecycle import Lifecycle
from pipeline.procs.redis_server import (
    RedisServer,
    RedisServerError,
    RedisServerNotFound,
    free_port,
)
from pipeline.waiting import wait_until

__all__ = ["RedisSentinelGroup", "SentinelError", "SentinelServer"]

POLL_SECONDS = 0.05
# Any server may become the primary; a primary waits 5 s by default before syncing a new
# replica (to batch several), which only slows a test group down.
SERVER_CONFIG = {"repl-diskless-sync-delay": "0"}
Address = tuple[str, int]


class SentinelError(RedisServerError):
    """A sentinel did not start, or the group did not reach the awaited state in time."""


def _as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SentinelServer(Lifecycle):
    """One ``redis-sentinel`` process watching the primary named ``master_name``.

    Its config file lives in its own temp directory; sentinel rewrites it as it learns
    about replicas and other sentinels, so :meth:`start` after :meth:`kill` comes back
    knowing the group.
    """

    def __init__(
        self,
        master_name: str,
        primary: Address,
        *,
        quorum: int,
        executable: str = "redis-sentinel",
        host: str = "127.0.0.1",
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 10000,
        startup_timeout: float = 15.0,
    ) -> None:
        self.master_name = master_name
        self.primary = primary
        self.quorum = quorum
        self.executable = executable
        self.host = host
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.startup_timeout = startup_timeout
        self.port = free_port(host)
        self.data_dir = Path(tempfile.mkdtemp(prefix="jobstate-sentinel-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Launch the sentinel and return once it answers ``SENTINEL MASTER``."""
        if self.running:
            return self
        binary = shutil.which(self.executable)
        if binary is None:
            raise RedisServerNotFound(
                f"{self.executable} not found on PATH: install it (apt-get install redis-sentinel)"
            )
        conf = str(self.data_dir / "sentinel.conf")
        with (self.data_dir / "stderr.log").open("wb") as errors:
            self._proc = subprocess.Popen(
                [binary, conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
            )
        self._wait_ready()
        return self

    def kill(self) -> None:
        """SIGKILL the sentinel."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        """Stop the sentinel (SIGTERM, then SIGKILL after 10 s); its directory stays."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None

    def close(self) -> None:
        """Stop the sentinel and delete its directory."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain client to this sentinel (for ``SENTINEL ...`` commands; caller closes)."""
        return redis.Redis(host=self.host, port=self.port, **kwargs)

    def master(self) -> dict[str, Any]:
        """``SENTINEL MASTER <name>``: the flags, address and counts this sentinel sees."""
        probe = self.client(socket_timeout=1, socket_connect_timeout=1, decode_responses=True)
        try:
            reply: Any = probe.sentinel_master(self.master_name)
            return dict(reply)
        finally:
            probe.close()

    def log_tail(self, lines: int = 20) -> str:
        """The end of the sentinel's log (and anything it printed before logging)."""
        text = ""
        for name in ("stderr.log", "sentinel.log"):
            path = self.data_dir / name
            if path.exists():
                text += path.read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def _write_config(self) -> None:
        name, (host, port) = self.master_name, self.primary
        lines = [
            f"port {self.port}",
            f"bind {self.host}",
            f"dir {self.data_dir}",
            f"logfile {self.data_dir / 'sentinel.log'}",
            "daemonize no",
            f"sentinel monitor {name} {host} {port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
        ]
        (self.data_dir / "sentinel.conf").write_text("\n".join(lines) + "\n")

    def _wait_ready(self) -> None:
        def ready() -> bool:
            if self._proc is None or self._proc.poll() is not None:
                raise SentinelError(f"redis-sentinel exited at start:\n{self.log_tail()}")
            try:
                self.master()
            except redis.RedisError:
                return False
            return True

        wait_until(
            ready,
            self.startup_timeout,
            interval=POLL_SECONDS,
            what=f"redis-sentinel on port {self.port} answering",
            fail=lambda why: SentinelError(f"{why}:\n{self.log_tail()}"),
        )


class RedisSentinelGroup(Lifecycle):
    """A primary, ``replicas`` replicas of it and ``sentinels`` sentinels watching them.

    ``quorum`` defaults to a majority of the sentinels. Sentinel needs a majority of all
    sentinels to authorise a failover, so with 3 sentinels one may be lost too.
    """

    def __init__(
        self,
        *,
        replicas: int = 1,
        sentinels: int = 3,
        quorum: int | None = None,
        master_name: str = "jobstate",
        executable: str = "redis-server",
        sentinel_executable: str = "redis-sentinel",
        host: str = "127.0.0.1",
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 10000,
        ready_timeout: float = 30.0,
    ) -> None:
        if replicas < 1 or sentinels < 1:
            raise ValueError("a sentinel group needs at least one replica and one sentinel")
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.quorum = quorum or sentinels // 2 + 1
        self.master_name = master_name
        self.executable = executable
        self.sentinel_executable = sentinel_executable
        self.host = host
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.ready_timeout = ready_timeout
        self.servers: list[RedisServer] = []
        self.sentinels: list[SentinelServer] = []

    # -- address ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis+sentinel://h:p,h:p/<master>/0``: what ``JOBSTATE_REDIS_URL`` takes."""
        hosts = ",".join(f"{s.host}:{s.port}" for s in self.sentinels)
        return f"{SENTINEL_SCHEME}{hosts}/{self.master_name}/0"

    @property
    def sentinel_addresses(self) -> list[Address]:
        """``(host, port)`` of every sentinel."""
        return [(s.host, s.port) for s in self.sentinels]

    def primary_address(self) -> Address:
        """The primary's address as the first answering sentinel reports it."""
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                info = sentinel.master()
            except redis.RedisError:
                continue
            return str(info["ip"]), int(info["port"])
        raise SentinelError("no sentinel answered: is the group started?")

    def primary(self) -> RedisServer:
        """The :class:`RedisServer` the sentinels currently call the primary."""
        address = self.primary_address()
        for server in self.servers:
            if (server.host, server.port) == address:
                return server
        raise SentinelError(f"the primary {address} is not one of this group's servers")

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Start the primary, its replicas and the sentinels; wait until all agree."""
        if self.servers:
            return self.heal()
        primary = RedisServer(self.executable, host=self.host, extra_config=SERVER_CONFIG)
        self.servers.append(primary)
        primary.start()
        for _ in range(self.replica_count):
            config = {**SERVER_CONFIG, **self._follow()}
            replica = RedisServer(self.executable, host=self.host, extra_config=config)
            self.servers.append(replica)
            replica.start()
        for _ in range(self.sentinel_count):
            sentinel = SentinelServer(
                self.master_name,
                (primary.host, primary.port),
                quorum=self.quorum,
                executable=self.sentinel_executable,
                host=self.host,
                down_after_ms=self.down_after_ms,
                failover_timeout_ms=self.failover_timeout_ms,
            )
            self.sentinels.append(sentinel)
            sentinel.start()
        self.wait_healthy()
        return self

    def kill_primary(self) -> RedisServer:
        """SIGKILL the current primary (a crash: no shutdown, no last AOF flush). Returns it."""
        server = self.primary()
        server.kill()
        return server

    def wait_for_failover(self, old: Address, timeout: float = 30.0) -> Address:
        """Wait until every running sentinel names a primary other than ``old`` and that
        server answers as a primary; return its address."""
        return wait_until(  # type: ignore[return-value]  # a truthy result is an address
            lambda: self._agreed_primary(besides=old),
            timeout,
            interval=POLL_SECONDS,
            what=f"a failover away from {old}",
            fail=SentinelError,
        )

    def _agreed_primary(self, besides: Address | None = None) -> Address | None:
        """The primary every running sentinel names, if it answers as one (not ``besides``)."""
        addresses = {self._reported(s) for s in self.sentinels if s.running}
        if len(addresses) != 1:
            return None
        (address,) = addresses
        if address is None or address == besides or self._role(address) != "master":
            return None
        return address

    def heal(self, timeout: float | None = None) -> Self:
        """Start every stopped sentinel and server (servers as replicas of the current
        primary, as a crashed primary must come back) and wait until the group is whole."""
        for sentinel in self.sentinels:
            sentinel.start()
        stopped = [server for server in self.servers if not server.running]
        if stopped:
            self.wait_for_primary(timeout)
        for server in stopped:
            server.extra_config.update(self._follow())
            server.start()
        self.wait_healthy(timeout)
        return self

    def wait_for_primary(self, timeout: float | None = None) -> Address:
        """Wait until the sentinels agree on a running primary; its address."""
        limit = self.ready_timeout if timeout is None else timeout
        return wait_until(  # type: ignore[return-value]  # a truthy result is an address
            self._agreed_primary,
            limit,
            interval=POLL_SECONDS,
            what="the sentinels agreeing on a live primary",
            fail=SentinelError,
        )

    def wait_healthy(self, timeout: float | None = None) -> None:
        """Wait until every sentinel sees the primary up, every replica linked to it and
        every other sentinel (so a failover can be authorised)."""
        limit = self.ready_timeout if timeout is None else timeout
        wait_until(
            self._healthy,
            limit,
            interval=POLL_SECONDS,
            what="a healthy sentinel group",
            fail=lambda why: SentinelError(f"{why}: {self._views()}"),
        )

    def stop(self) -> None:
        """Stop every sentinel and server gracefully (their directories stay)."""
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()

    def kill(self) -> None:
        """SIGKILL every sentinel and server, as a crash of every host would."""
        for sentinel in self.sentinels:
            sentinel.kill()
        for server in self.servers:
            server.kill()

    def close(self) -> None:
        """Stop every sentinel and server and delete their directories."""
        try:
            for sentinel in self.sentinels:
                sentinel.close()
            for server in self.servers:
                server.close()
        finally:
            self.sentinels, self.servers = [], []

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client that asks the sentinels for the primary and follows failovers."""
        return sentinel_client(self.url, **kwargs)

    def sentinel(self, **kwargs: Any) -> Sentinel:
        """A redis-py :class:`~redis.sentinel.Sentinel` on this group's sentinels."""
        return Sentinel(self.sentinel_addresses, **kwargs)  # type: ignore[no-untyped-call,unused-ignore]

    def __repr__(self) -> str:
        ports = [s.port for s in self.servers if s.running]
        return f"RedisSentinelGroup({self.master_name!r}, servers={ports}, {self.url})"

    # -- internals ------------------------------------------------------------------------

    def _follow(self) -> dict[str, str]:
        host, port = self.primary_address() if self.sentinels else self._first()
        return {"replicaof": f"{host} {port}"}

    def _first(self) -> Address:
        return self.servers[0].host, self.servers[0].port

    def _reported(self, sentinel: SentinelServer) -> Address | None:
        try:
            info = sentinel.master()
        except redis.RedisError:
            return None
        return str(info["ip"]), int(info["port"])

    def _info(self, address: Address) -> dict[str, Any]:
        probe = redis.Redis(
            host=address[0], port=address[1], socket_timeout=1, socket_connect_timeout=1
        )
        try:
            info: dict[str, Any] = probe.info("replication")
            return info
        except redis.RedisError:
            return {}
        finally:
            probe.close()

    def _role(self, address: Address) -> str:
        return str(self._info(address).get("role", ""))

    def _views(self) -> list[dict[str, Any]]:
        views: list[dict[str, Any]] = []
        for sentinel in self.sentinels:
            try:
                views.append(sentinel.master())
            except redis.RedisError as exc:
                views.append({"error": str(exc)})
        return views

    def _healthy(self) -> bool:
        if not all(s.running for s in self.sentinels) or not all(s.running for s in self.servers):
            return False
        addresses = {self._reported(s) for s in self.sentinels}
        if len(addresses) != 1 or None in addresses:
            return False
        (primary,) = addresses
        assert primary is not None
        info = self._info(primary)
        linked = sum(
            1
            for key, value in info.items()
            if key.startswith("slave")
            and isinstance(value, dict)
            and value.get("state") == "online"
        )
        if info.get("role") != "master" or linked != self.replica_count:
            return False
        return all(self._sees_all(view) for view in self._views())

    def _sees_all(self, view: dict[str, Any]) -> bool:
        flags = _as_text(view.get("flags", ""))
        return (
            "down" not in flags
            and int(view.get("num-slaves", 0)) == self.replica_count
            and int(view.get("num-other-sentinels", 0)) == self.sentinel_count - 1
        )
