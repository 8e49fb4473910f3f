"""A real Redis Cluster of ``redis-server`` processes for tests (no pytest in here).

:class:`RedisClusterServers` starts ``primaries`` cluster-enabled servers on free ports
(each with its own bus port), joins them with ``redis-cli --cluster create`` and waits
until every node reports ``cluster_state:ok`` with all 16384 slots assigned. Other repos
can use it from their own ``conftest.py``::

    with RedisClusterServers() as cluster:
        client = cluster.client()  # redis.cluster.RedisCluster
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Self

import redis
from redis.cluster import RedisCluster

from pipeline.procs.lifecycle import Lifecycle
from pipeline.procs.redis_server import RedisServer, RedisServerError, free_port
from pipeline.waiting import wait_until

__all__ = ["CLUSTER_SLOTS", "RedisClusterError", "RedisClusterServers", "cluster_info"]

CLUSTER_SLOTS = 16384
POLL_SECONDS = 0.05
MISSING_CLI = "redis-cli not found on PATH: install it (apt-get install redis-tools)"


class RedisClusterError(RedisServerError):
    """The cluster could not be created or did not become healthy in time."""


def cluster_info(client: redis.Redis) -> dict[str, str]:
    """``CLUSTER INFO`` of one node as a dict of strings."""
    raw = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call,unused-ignore]
    if isinstance(raw, dict):  # redis-py parses the reply already
        return {str(k): str(v) for k, v in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


class RedisClusterServers(Lifecycle):
    """``primaries`` (at least 3) cluster-enabled redis-servers joined into one cluster.

    Each node is a :class:`~pipeline.procs.redis_server.RedisServer` (AOF, ``appendfsync always``,
    its own temp data dir). :meth:`close` stops every node and removes their directories.
    """

    def __init__(
        self,
        primaries: int = 3,
        *,
        executable: str = "redis-server",
        cli: str = "redis-cli",
        host: str = "127.0.0.1",
        node_timeout_ms: int = 2000,
        ready_timeout: float = 30.0,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        if primaries < 3:
            raise ValueError(f"a Redis Cluster needs at least 3 primaries, not {primaries}")
        self.primaries = primaries
        self.executable = executable
        self.cli = cli
        self.host = host
        self.node_timeout_ms = node_timeout_ms
        self.ready_timeout = ready_timeout
        self.extra_config = dict(extra_config or {})
        self.nodes: list[RedisServer] = []

    # -- address ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://host:port/0`` of the first node: the startup node for cluster clients."""
        if not self.nodes:
            raise RedisClusterError("the cluster has no nodes yet: call start() first")
        return self.nodes[0].url

    @property
    def addresses(self) -> list[str]:
        """``host:port`` of every node, in start order."""
        return [f"{node.host}:{node.port}" for node in self.nodes]

    @property
    def running(self) -> bool:
        """True while every node process is alive."""
        return bool(self.nodes) and all(node.running for node in self.nodes)

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Start the nodes, create the cluster and wait for ``cluster_state:ok``.

        When the nodes were only stopped (or one was killed), they are started again with
        their ``nodes.conf`` and the cluster re-forms without being created anew.
        """
        if self.running:
            return self
        if self.nodes:
            for node in self.nodes:
                node.start()
        else:
            self._start_nodes()
            self._create()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every node says ``cluster_state:ok`` with all slots assigned."""
        limit = self.ready_timeout if timeout is None else timeout
        wait_until(
            self._all_ok,
            limit,
            interval=POLL_SECONDS,
            what=f"cluster {self.addresses} ok",
            fail=lambda why: RedisClusterError(f"{why}: {self._states()}"),
        )

    def stop(self) -> None:
        """Stop every node cleanly (their data and cluster config stay for a restart)."""
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        """SIGKILL every node, as a crash of the whole cluster would."""
        for node in self.nodes:
            node.kill()

    def close(self) -> None:
        """Stop every node and delete the data directories this object created."""
        try:
            for node in self.nodes:
                node.close()
        finally:
            self.nodes = []

    def client(self, **kwargs: Any) -> RedisCluster:
        """A new ``RedisCluster`` client (the caller closes it)."""
        return RedisCluster.from_url(self.url, **kwargs)

    def node_client(self, index: int, **kwargs: Any) -> redis.Redis:
        """A plain client to node ``index`` alone (for CLUSTER commands; caller closes)."""
        return self.nodes[index].client(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RedisClusterServers({', '.join(self.addresses) or 'no nodes'}, {state})"

    # -- internals ------------------------------------------------------------------------

    def _node_config(self) -> dict[str, str]:
        return {
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(self.node_timeout_ms),
            # The bus port defaults to port + 10000, which may be taken or out of range.
            "cluster-port": str(free_port(self.host)),
            **self.extra_config,
        }

    def _start_nodes(self) -> None:
        for _ in range(self.primaries):
            node = RedisServer(self.executable, host=self.host, extra_config=self._node_config())
            self.nodes.append(node)
            try:
                node.start()
            except BaseException:
                self.close()
                raise

    def _create(self) -> None:
        cli = shutil.which(self.cli)
        if cli is None:
            self.close()
            raise RedisClusterError(MISSING_CLI)
        argv = [cli, "--cluster", "create", *self.addresses, "--cluster-yes"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
            output = (done.stdout + done.stderr)[-2000:]
            self.close()
            raise RedisClusterError(f"redis-cli --cluster create failed:\n{output}")

    def _node_info(self, node: RedisServer) -> dict[str, str]:
        probe = node.client(socket_timeout=1, socket_connect_timeout=1)
        try:
            return cluster_info(probe)
        except redis.RedisError as exc:
            return {"error": str(exc)}
        finally:
            probe.close()

    def _states(self) -> list[dict[str, str]]:
        return [self._node_info(node) for node in self.nodes]

    def _all_ok(self) -> bool:
        wanted = {"cluster_state": "ok", "cluster_slots_ok": str(CLUSTER_SLOTS)}
        known = str(len(self.nodes))
        for info in self._states():
            if any(info.get(k) != v for k, v in wanted.items()):
                return False
            if info.get("cluster_known_nodes") != known:
                return False
        return True
