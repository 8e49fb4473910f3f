"""A real Celery worker in a subprocess (prefork pool), with no pytest import.

Started with the test's ``Settings`` in its environment, pinged before use, stopped with
a hard timeout. ``child_pids()`` lists the pool's children so a test can kill one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from celery import Celery

from pipeline.settings import Settings

__all__ = ["WorkerProcess", "WorkerStartError"]


class WorkerStartError(RuntimeError):
    """The worker did not answer a ping in time (its log tail is in the message)."""


class WorkerProcess:
    """``jobstate worker`` in a subprocess, bound to ``settings``."""

    def __init__(
        self,
        app_target: str,
        settings: Settings,
        *,
        concurrency: int = 2,
        log_dir: Path,
        extra_env: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self.app_target = app_target
        self.settings = settings
        self.concurrency = concurrency
        self.hostname = f"jobstate-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.extra_env = dict(extra_env or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The worker's main (parent) process id."""
        if self.proc is None:
            raise RuntimeError("worker not started")
        return self.proc.pid

    def start(self, control_app: Celery) -> WorkerProcess:
        """Spawn the worker and wait until it answers a ping through ``control_app``."""
        env = {
            **os.environ,
            **self.settings.to_env(),
            "JOBSTATE_FAULTS": "1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        cmd = [
            sys.executable,
            "-m",
            "pipeline.cli",
            "worker",
            "--app",
            self.app_target,
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "--queue",
            self.settings.queue,
            "--hostname",
            self.hostname,
            "--loglevel",
            "INFO",
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready(control_app)
        return self

    def _wait_ready(self, control_app: Celery) -> None:
        deadline = time.monotonic() + self.start_timeout
        node = self.hostname.replace("%h", os.uname().nodename)
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise WorkerStartError(
                    f"worker exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            replies = control_app.control.ping(destination=[node], timeout=0.5)
            if replies and len(self.child_pids()) >= self.concurrency:
                return
        self.stop()
        raise WorkerStartError(
            f"worker {node} did not answer a ping within {self.start_timeout}s:\n{self.log_tail()}"
        )

    def child_pids(self) -> list[int]:
        """Process ids of the pool's children (Linux ``/proc``)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and children): a machine dying."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=self.stop_timeout)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL after ``stop_timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=self.stop_timeout)

    @property
    def running(self) -> bool:
        """Whether the main worker process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
