"""A real Celery worker in a subprocess (prefork pool), with no pytest import.

Started with the given ``Settings`` in its environment, pinged before use, stopped with a
hard timeout (or killed at once). ``child_pids()`` lists the pool's children so a test
can kill one. By default it runs ``jobstate worker`` (``python -m pipeline.cli worker``);
``entry`` names another module that takes the same options.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from celery import Celery

from pipeline.settings import Settings
from pipeline.waiting import wait_until

__all__ = ["DEFAULT_ENTRY", "WorkerProcess", "WorkerStartError"]

DEFAULT_ENTRY: tuple[str, ...] = ("pipeline.cli", "worker")
"""``python -m`` arguments that start a worker (options follow)."""

POLL_SECONDS = 0.05


class WorkerStartError(RuntimeError):
    """The worker did not answer a ping in time (its log tail is in the message)."""


class WorkerProcess:
    """A Celery worker subprocess bound to ``settings``.

    ``pythonpath`` entries go first on the subprocess's ``PYTHONPATH`` (so it imports
    what the caller imports); ``extra_env`` is added last and wins.
    """

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
        entry: Sequence[str] = DEFAULT_ENTRY,
        pythonpath: Sequence[str] = (),
        cwd: Path | None = None,
    ) -> None:
        self.app_target = app_target
        self.settings = settings
        self.concurrency = concurrency
        self.hostname = f"jobstate-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.extra_env = dict(extra_env or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.entry = tuple(entry)
        self.pythonpath = tuple(pythonpath)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The worker's main (parent) process id."""
        if self.proc is None:
            raise RuntimeError("worker not started")
        return self.proc.pid

    @property
    def node(self) -> str:
        """The worker's node name as remote control knows it (``name@host``)."""
        return self.hostname.replace("%h", os.uname().nodename)

    def command(self) -> list[str]:
        """The argv the worker runs with."""
        return [
            sys.executable,
            "-m",
            *self.entry,
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

    def environment(self) -> dict[str, str]:
        """The subprocess's environment: ours, the settings, the import path, extras."""
        paths = [
            *self.pythonpath,
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
        ]
        env = {
            **os.environ,
            **self.settings.to_env(),
            "JOBSTATE_FAULTS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return {**env, **self.extra_env}

    def start(self, control_app: Celery) -> WorkerProcess:
        """Spawn the worker and wait until it answers a ping through ``control_app``."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.environment(),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(control_app)
        return self

    def _wait_ready(self, control_app: Celery) -> None:
        next_ping = time.monotonic() + 2.0

        def ready() -> bool:
            nonlocal next_ping
            if self.proc is not None and self.proc.poll() is not None:
                raise WorkerStartError(
                    f"worker exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            # Ping once the worker logs that it is ready (an unanswered ping costs its
            # timeout), or now and then in case its logging was configured otherwise.
            if not (self._logged_ready() or time.monotonic() >= next_ping):
                return False
            next_ping = time.monotonic() + 2.0
            replies = control_app.control.ping(destination=[self.node], timeout=1.0)
            return bool(replies) and len(self.child_pids()) >= self.concurrency

        def gave_up(why: str) -> WorkerStartError:
            self.kill()
            return WorkerStartError(f"{why}:\n{self.log_tail()}")

        wait_until(
            ready,
            self.start_timeout,
            interval=POLL_SECONDS,
            what=f"worker {self.node} answering a ping",
            fail=gave_up,
        )

    def _logged_ready(self) -> bool:
        try:
            return b" ready." in self.log_path.read_bytes()
        except OSError:
            return False

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
        """SIGKILL the whole worker (parent and children) at once: a machine dying."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=self.stop_timeout)

    def close(self) -> None:
        """End for good, gracefully (:meth:`stop`); call :meth:`kill` first to end it at once.

        Until 0.x this killed the worker; the life-cycle verbs now mean one thing
        everywhere (:mod:`pipeline.procs.lifecycle`).
        """
        self.stop()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: running stages finish), then SIGKILL after ``stop_timeout``."""
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

    def log_size(self) -> int:
        """The log's current length in bytes (a mark for :meth:`log_since`)."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int, lines: int = 80) -> str:
        """The last ``lines`` lines the worker logged after byte ``offset``."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log."""
        return self.log_since(0, lines)
