"""Re-export of :mod:`pipeline.procs.worker_process` (a Celery worker subprocess, no pytest).

Kept so ``from harness.worker_proc import WorkerProcess`` in other repos goes on working.
"""

from __future__ import annotations

from pipeline.procs.worker_process import DEFAULT_ENTRY, WorkerProcess, WorkerStartError

__all__ = ["DEFAULT_ENTRY", "WorkerProcess", "WorkerStartError"]
