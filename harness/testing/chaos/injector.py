"""The fault injector: faults at a stage, faults of a worker, of Redis and of the network.

- At a stage (every worker process sees them through Redis): fail, hang, kill the child,
  ``SystemExit``, outlast the hard time limit, exhaust the child's memory limit.
- Of a worker: SIGKILL it or one child, SIGTERM (warm shutdown), SIGQUIT (cold
  shutdown), a remote ``shutdown`` through Celery's control; cut it off from Redis
  (a :class:`~harness.testing.chaos.relay.TcpRelay` between them stops passing bytes) and let it
  reconnect; start it with its clock ahead (:func:`clock_ahead_env` and
  :func:`clock_ahead_entry`, libfaketime; ``jobstate_worker_factory(clock_ahead=...)``).
- Of Redis: stop, start, restart (AOF keeps the data), an outage of some seconds.

No pytest here: the ``fault_injector`` fixture builds one for each test.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from celery import Celery
from kombu import pools

from harness.testing.chaos.relay import TcpRelay
from harness.testing.chaos.task_faults import task_key
from pipeline.faults import FaultPlan
from pipeline.procs.redis_server import RedisServer
from pipeline.procs.worker_process import WorkerProcess
from pipeline.store import JobStore

__all__ = [
    "FAKETIME_ENTRY",
    "LIBFAKETIME_PATHS",
    "FaultInjector",
    "FaultSetupError",
    "clock_ahead_entry",
    "clock_ahead_env",
    "forget_pooled_connections",
]

LIBFAKETIME_PATHS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
"""Where Debian, Ubuntu and a source build put libfaketime (``JOBSTATE_LIBFAKETIME`` wins)."""

FAKETIME_ENTRY = ("harness.testing.workers.faketime_main",)
"""``python -m`` prefix that keeps ``time.sleep`` working under libfaketime."""


class FaultSetupError(RuntimeError):
    """A fault cannot be injected here; the message says what is missing."""


def _libfaketime() -> str:
    configured = os.environ.get("JOBSTATE_LIBFAKETIME")
    candidates = (configured,) if configured else LIBFAKETIME_PATHS
    for path in candidates:
        if path and Path(path).is_file():
            return path
    raise FaultSetupError(
        "libfaketime not found "
        f"({'JOBSTATE_LIBFAKETIME=' + configured if configured else ', '.join(candidates)}): "
        "install it (apt-get install faketime) or set JOBSTATE_LIBFAKETIME to its path"
    )


def clock_ahead_env(seconds: float) -> dict[str, str]:
    """Environment that starts a process with its wall clock ``seconds`` ahead.

    libfaketime is preloaded; monotonic clocks are left alone (timeouts and intervals
    stay true), so only what reads the wall clock is misled. Run Python under it through
    :func:`clock_ahead_entry`. Raises :class:`FaultSetupError` when libfaketime is not
    installed.
    """
    return {
        "LD_PRELOAD": _libfaketime(),
        "FAKETIME": f"{seconds:+g}s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def clock_ahead_entry(entry: Sequence[str]) -> tuple[str, ...]:
    """The ``python -m`` arguments that run ``entry`` under :func:`clock_ahead_env`
    (see :mod:`harness.testing.workers.faketime_main`)."""
    return (*FAKETIME_ENTRY, *entry)


def forget_pooled_connections(host: str, port: int) -> int:
    """Close this process's pooled broker connections to ``host:port``; how many pools.

    kombu keeps connection and producer pools per broker URL for the whole process, so
    after that server restarts every Celery app here would first meet a dead socket
    (a remote-control reply read fails once). The pools stay usable and open new
    connections on their next use.
    """
    closed = 0
    for group in (pools.producers, pools.connections):
        # Keyed by each Connection's equality key: (transport, hostname, userid, password,
        # virtual host, port, transport options).
        for key, pool in list(group.items()):
            if host in key and port in key:
                pool.force_close_all(close_pool=False)  # leaves the pool empty...
                pool.setup()  # ...so fill it again with connections made on first use
                closed += 1
    return closed


class FaultInjector:
    """Faults for one test: stage faults reach every worker process through Redis.

    ``worker`` is the test's prefork worker (worker faults default to it); any other
    :class:`WorkerProcess` can be named instead.
    """

    def __init__(
        self,
        store: JobStore,
        server: RedisServer | None = None,
        worker: WorkerProcess | None = None,
    ) -> None:
        self.store = store
        self.plan = FaultPlan(store.client, store.settings.key_prefix)
        self.server = server
        self.worker = worker

    # -- at a stage ---------------------------------------------------------------------

    def fail_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` raise an injected error."""
        self.plan.set(stage, "fail", times)

    def raise_inside_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` fail inside their own work: the first call
        the stage function makes raises (see :func:`pipeline.faults.raise_inside_stage`)."""
        self.plan.set(stage, "raise", times)

    def unreadable_error_at(self, stage: str, times: int = 1) -> None:
        """Like :meth:`raise_inside_at`, with an exception whose text cannot be read."""
        self.plan.set(stage, "unreadable", times)

    def duplicate_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` send their own message once more, so a
        second delivery of it runs beside the first."""
        self.plan.set(stage, "duplicate", times)

    def fired(self, stage: str) -> int:
        """How many times a fault armed at ``stage`` has fired so far."""
        return self.plan.fired(stage)

    def at_task(self, task_name: str, kind: str, times: int = 1) -> None:
        """The next ``times`` runs of the Celery task ``task_name`` (any task, tracked or
        not) meet fault ``kind``, in workers started with ``JOBSTATE_TASK_FAULTS=1``
        (:mod:`harness.testing.chaos.task_faults` says where in the task it happens)."""
        self.plan.set(task_key(task_name), kind, times)

    def fired_at_task(self, task_name: str) -> int:
        """How many times a fault armed at the task ``task_name`` has fired so far."""
        return self.plan.fired(task_key(task_name))

    def hang_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` block until :meth:`release` (or their
        soft time limit)."""
        self.plan.set(stage, "hang", times)

    def kill_child_at(self, stage: str, times: int = 1) -> None:
        """The prefork child running ``stage`` SIGKILLs itself (prefork workers only)."""
        self.plan.set(stage, "kill", times)

    def exit_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` raise ``SystemExit``."""
        self.plan.set(stage, "exit", times)

    def time_out_at(self, stage: str, times: int = 1) -> None:
        """``stage`` ignores its soft time limit and blocks until the pool kills the child
        at the hard limit (``stage_time_limit``; prefork workers only)."""
        self.plan.set(stage, "timeout", times)

    def exhaust_memory_at(self, stage: str, times: int = 1) -> None:
        """The child running ``stage`` lowers its memory limit and allocates past it: the
        stage fails with ``MemoryError`` (prefork workers only)."""
        self.plan.set(stage, "memory", times)

    def release(self, stage: str | None = None) -> None:
        """Disarm faults (and let hung stages go on)."""
        self.plan.clear(stage)

    # -- of a worker --------------------------------------------------------------------

    def kill_worker(self, worker: WorkerProcess | None = None) -> None:
        """SIGKILL the whole prefork worker, parent and children."""
        self._need_worker(worker).kill()

    def kill_child(self, worker: WorkerProcess | None = None) -> int:
        """SIGKILL one prefork child right now; returns its pid."""
        children = self._need_worker(worker).child_pids()
        if not children:
            raise FaultSetupError("the worker has no pool children to kill")
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def terminate_worker(self, worker: WorkerProcess | None = None) -> None:
        """SIGTERM the worker's main process: a warm shutdown (running stages finish)."""
        os.kill(self._running(worker).pid, signal.SIGTERM)

    def quit_worker(self, worker: WorkerProcess | None = None) -> None:
        """SIGQUIT the worker's main process: a cold shutdown (running stages are cut)."""
        os.kill(self._running(worker).pid, signal.SIGQUIT)

    def shutdown_worker(self, control: Celery, worker: WorkerProcess | None = None) -> None:
        """Send Celery's remote ``shutdown`` command to the worker (through ``control``'s
        broker): the worker shuts down warm, as after SIGTERM."""
        control.control.shutdown(destination=[self._running(worker).node])

    def wait_worker_gone(self, worker: WorkerProcess | None = None, timeout: float = 30) -> int:
        """Wait until the worker's main process exits; returns its exit code."""
        proc = self._need_worker(worker).proc
        if proc is None:
            raise FaultSetupError("the worker was never started")
        return proc.wait(timeout=timeout)

    @staticmethod
    def cut_off(relay: TcpRelay) -> None:
        """Cut the worker behind ``relay`` off from Redis: not one more byte gets through
        either way, and neither side sees the connection drop."""
        relay.hold()

    @staticmethod
    def reconnect(relay: TcpRelay) -> None:
        """End :meth:`cut_off`: held bytes go through first, then everything else."""
        relay.flow()

    # -- of Redis -----------------------------------------------------------------------

    def stop_redis(self) -> None:
        """Stop the test's redis-server (data kept on disk)."""
        self._need_server().stop()

    def start_redis(self) -> None:
        """Start the test's redis-server again on the same port (this process's pooled
        broker connections to it are closed: they died with the old server)."""
        server = self._need_server()
        server.start()
        forget_pooled_connections(server.host, server.port)

    def restart_redis(self) -> None:
        """Restart the test's redis-server (AOF keeps the data), as :meth:`start_redis`."""
        server = self._need_server()
        server.restart()
        forget_pooled_connections(server.host, server.port)

    def redis_outage(self, seconds: float) -> None:
        """Stop Redis, keep it down for ``seconds``, start it again."""
        self.stop_redis()
        try:
            time.sleep(seconds)  # the outage itself is what is being simulated
        finally:
            self.start_redis()

    # -- checks -------------------------------------------------------------------------

    def _need_server(self) -> RedisServer:
        if self.server is None:
            raise FaultSetupError(
                "Redis faults need a real redis-server: mark the test "
                "@pytest.mark.jobstate_redis('server')"
            )
        return self.server

    def _need_worker(self, worker: WorkerProcess | None) -> WorkerProcess:
        chosen = worker or self.worker
        if chosen is None:
            raise FaultSetupError(
                "worker faults need a prefork worker: mark the test "
                "@pytest.mark.jobstate_celery('prefork') or pass the worker"
            )
        return chosen

    def _running(self, worker: WorkerProcess | None) -> WorkerProcess:
        chosen = self._need_worker(worker)
        if not chosen.running:
            raise FaultSetupError(f"worker {chosen.node} is not running")
        return chosen
