"""A real ``redis-server`` process for tests, benchmarks and the demo (no pytest in here).

:class:`RedisServer` runs one server on a free local port with its own data directory and
an append-only file fsynced on every write, so ``stop()``/``restart()`` keep every
acknowledged write and ``kill()`` (SIGKILL) loses none either. Other repos can use it from
their own ``conftest.py``::

    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Self

import redis

from pipeline.procs.lifecycle import Lifecycle
from pipeline.waiting import wait_until

__all__ = [
    "MISSING_BINARY",
    "FakeTcpRedis",
    "RedisServer",
    "RedisServerError",
    "RedisServerNotFound",
    "find_binary",
    "free_port",
    "start_redis_server",
]

MISSING_BINARY = (
    "{exe} not found on PATH: install it (apt-get install redis-server) or set {option}"
)
EXEC_OPTION = "--jobstate-redis-exec (or JOBSTATE_REDIS_EXEC)"
"""How a message names the setting that chooses the binary, unless told how it was set."""
POLL_SECONDS = 0.02


class RedisServerError(RuntimeError):
    """The server did not start, did not answer in time or did not stop."""


class RedisServerNotFound(RedisServerError, FileNotFoundError):
    """The ``redis-server`` binary is not installed (or not where we were told)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def find_binary(executable: str, option: str = EXEC_OPTION) -> str:
    """The ``redis-server`` to run: ``executable`` as a path, or found on PATH;
    :class:`RedisServerNotFound` saying which, and what to do, when there is none
    (``option`` names the setting that chose it, as the user set it)."""
    found = shutil.which(executable)
    if found is None and os.sep in executable:  # a path given on purpose: say what is wrong
        what = "is not an executable file" if os.path.exists(executable) else "does not exist"
        raise RedisServerNotFound(
            f"{executable} {what}: fix {option}, or leave it out to use redis-server from PATH"
        )
    if found is None:
        raise RedisServerNotFound(MISSING_BINARY.format(exe=executable, option=option))
    return found


class RedisServer(Lifecycle):
    """One ``redis-server`` process: AOF on, ``appendfsync always``, no RDB snapshots.

    The port and data directory are chosen on the first :meth:`start` and kept for the
    object's life, so :meth:`restart` (and :meth:`kill` then :meth:`start`) come back on the
    same address with the same data. :meth:`close` stops the server and removes a data
    directory it created.
    """

    def __init__(
        self,
        executable: str = "redis-server",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        data_dir: str | Path | None = None,
        startup_timeout: float = 15.0,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        self.executable = executable
        self._host = host
        self._port = port
        self._dir = Path(data_dir) if data_dir is not None else None
        self._owns_dir = data_dir is None
        self.startup_timeout = startup_timeout
        self.extra_config = dict(extra_config or {})
        self._proc: subprocess.Popen[bytes] | None = None

    # -- address ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the server binds to (loopback by default)."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port (chosen on the first start and kept across restarts)."""
        if self._port is None:
            raise RedisServerError("the server has no port yet: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """``redis://host:port/0``: any process on this machine can connect to it."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def data_dir(self) -> Path:
        """The directory holding the append-only file and the server log."""
        if self._dir is None:
            raise RedisServerError("the server has no data directory yet: call start() first")
        return self._dir

    @property
    def running(self) -> bool:
        """True while the process is alive (it may still be loading its data)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while running, else ``None``."""
        return self._proc.pid if self.running and self._proc is not None else None

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Launch the server and return once it answers PING; no-op when running."""
        if self.running:
            return self
        binary = find_binary(self.executable)
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="jobstate-redis-"))
        self._dir.mkdir(parents=True, exist_ok=True)
        first_start = self._port is None
        if first_start:
            self._port = free_port(self.host)
        try:
            self._launch(binary)
        except RedisServerError as exc:
            if not (first_start and "already in use" in str(exc)):
                raise
            # Another process took the free port between our probe and the launch.
            self._port = free_port(self.host)
            self._launch(binary)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly (SIGTERM: the AOF is flushed); the data stays for a restart."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RedisServerError(
                    f"redis-server on port {self.port} ignored SIGTERM for {timeout}s; killed"
                ) from None
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; restart it with :meth:`start`."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._proc = None

    def restart(self) -> Self:
        """Stop cleanly and start again on the same port with the same data."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and delete the data directory if this object created it."""
        try:
            self.stop()
        finally:
            if self._owns_dir and self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A new client to this server; the caller closes it."""
        return redis.Redis.from_url(self.url, **kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RedisServer({self.host}:{self._port}, {state}, dir={self._dir})"

    # -- internals ------------------------------------------------------------------------

    def _argv(self, binary: str) -> list[str]:
        config = {
            "port": str(self.port),
            "bind": self.host,
            "dir": str(self.data_dir),
            "appendonly": "yes",
            "appendfsync": "always",
            "save": "",
            "daemonize": "no",
            "protected-mode": "yes",
            "logfile": str(self.data_dir / "redis.log"),
            **self.extra_config,
        }
        argv = [binary]
        for name, value in config.items():
            argv += [f"--{name}", value]
        return argv

    def _launch(self, binary: str) -> None:
        # Errors before the log file opens (a bad option) go to stderr: keep them too.
        with (self.data_dir / "stderr.log").open("wb") as errors:
            self._proc = subprocess.Popen(
                self._argv(binary),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        try:
            self._wait_ready()
        except RedisServerError:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        def ready() -> bool:
            if self._proc is None or self._proc.poll() is not None:
                raise RedisServerError(f"redis-server exited at start:\n{self._log_tail()}")
            return self._answers_ping()

        wait_until(
            ready,
            self.startup_timeout,
            interval=POLL_SECONDS,
            what=f"redis-server on port {self.port} answering PING",
            fail=lambda why: RedisServerError(f"{why}:\n{self._log_tail()}"),
        )

    def _answers_ping(self) -> bool:
        """True once *our* process answers (not some other server that owns the port)."""
        probe = redis.Redis(
            host=self.host, port=self.port, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            if not probe.ping():
                return False
            info: dict[str, Any] = probe.info("server")
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False
        finally:
            probe.close()
        if self._proc is not None and info.get("process_id") != self._proc.pid:
            raise RedisServerError(f"port {self.port} is already in use by another server")
        return True

    def _log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("stderr.log", "redis.log"):
            path = self.data_dir / name
            if path.exists():
                text += path.read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


class FakeTcpRedis(Lifecycle):
    """fakeredis served over TCP from a thread, so other processes can connect to it.

    Cheaper than a real server and shared by URL; behaves like Redis for what the store
    uses (scripts, streams, sorted sets, pub/sub) but keeps nothing on disk.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the OS assigned on :meth:`start`."""
        if self._server is None:
            raise RedisServerError("the fake server is not started: call start() first")
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        """``redis://host:port/0`` of the fake server."""
        return f"redis://{self._host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Bind a free port and serve from a background thread; no-op when running."""
        if self.running:
            return self
        from fakeredis import TcpFakeServer

        self._server = TcpFakeServer((self._host, 0))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakeredis-tcp-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, close every connection and join the threads."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server, self._thread = None, None


def start_redis_server(executable: str = "redis-server", **kwargs: Any) -> RedisServer:
    """Build and start a :class:`RedisServer` (keyword arguments as for the class)."""
    return RedisServer(executable, **kwargs).start()
