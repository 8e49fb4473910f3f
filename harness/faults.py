"""The fault injector: fail, hang or kill at a stage; stop, start or restart Redis."""

from __future__ import annotations

import os
import signal
import time

from harness.redis_proc import RedisServer
from harness.worker_proc import WorkerProcess
from pipeline.faults import FaultPlan
from pipeline.store import JobStore

__all__ = ["FaultInjector"]


class FaultInjector:
    """Faults for one test: stage faults reach every worker process through Redis."""

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

    def fail_at(self, stage: str, times: int = 1) -> None:
        """The next ``times`` runs of ``stage`` raise an injected error."""
        self.plan.set(stage, "fail", times)

    def hang_at(self, stage: str) -> None:
        """The next run of ``stage`` blocks until :meth:`release` (or its time limit)."""
        self.plan.set(stage, "hang", 1)

    def kill_child_at(self, stage: str, times: int = 1) -> None:
        """The prefork child running ``stage`` SIGKILLs itself (prefork workers only)."""
        self.plan.set(stage, "kill", times)

    def release(self, stage: str | None = None) -> None:
        """Disarm faults (and let hung stages go on)."""
        self.plan.clear(stage)

    def kill_worker(self) -> None:
        """SIGKILL the whole prefork worker, parent and children."""
        self._need_worker().kill()

    def kill_child(self) -> int:
        """SIGKILL one prefork child right now; returns its pid."""
        children = self._need_worker().child_pids()
        if not children:
            raise RuntimeError("the worker has no pool children to kill")
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def stop_redis(self) -> None:
        """Stop the test's redis-server (data kept on disk)."""
        self._need_server().stop()

    def start_redis(self) -> None:
        """Start the test's redis-server again on the same port."""
        self._need_server().start()

    def restart_redis(self) -> None:
        """Restart the test's redis-server (AOF keeps the data)."""
        self._need_server().restart()

    def redis_outage(self, seconds: float) -> None:
        """Stop Redis, keep it down for ``seconds``, start it again."""
        self.stop_redis()
        try:
            time.sleep(seconds)  # the outage itself is what is being simulated
        finally:
            self.start_redis()

    def _need_server(self) -> RedisServer:
        if self.server is None:
            raise RuntimeError(
                "Redis faults need a real redis-server: mark the test "
                "@pytest.mark.jobstate_redis('server')"
            )
        return self.server

    def _need_worker(self) -> WorkerProcess:
        if self.worker is None:
            raise RuntimeError(
                "worker faults need a prefork worker: mark the test "
                "@pytest.mark.jobstate_celery('prefork')"
            )
        return self.worker
