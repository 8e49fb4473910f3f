"""``python -m harness.testing.workers.worker_main``: the prefork worker subprocess the harness
starts.

Takes the options of ``jobstate worker`` and settings from ``JOBSTATE_*`` variables.
Unlike a production worker it binds any app, a Celery instance included, to those
settings (broker, result backend, queue), serves the scope each test's tasks carry
(:mod:`harness.testing.workers.scoping`) and honours fault plans: at tracker stages, and
at any task when ``JOBSTATE_TASK_FAULTS=1`` (:mod:`harness.testing.chaos.task_faults`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from harness.testing.chaos.task_faults import TASK_FAULTS_ENV, install_task_faults
from harness.testing.workers import scoping as scope
from harness.testing.workers.app_binding import AppBinding, build_app, load_target, worker_conf
from harness.testing.workers.task_limits import limits_from_env, set_task_limits
from pipeline.faults import fault_hook
from pipeline.settings import Settings
from pipeline.tracking import Tracker, add_stage_hook
from pipeline.worker import run_worker

__all__ = ["main"]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.testing.workers.worker_main")
    parser.add_argument("--app", required=True, help="module:attribute (app or factory)")
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--queue", default=None)
    parser.add_argument("--hostname", default=None)
    parser.add_argument("--loglevel", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Load, bind and run the worker until it is told to stop."""
    args = _parse(argv)
    settings = Settings.from_env()
    app, _ = build_app(args.app, load_target(args.app), settings)
    AppBinding(app, worker_conf(app, settings))  # this process only: never restored
    set_task_limits(app, limits_from_env())
    if Tracker.tracks(app):
        scope.serve_scopes(app, settings)
    add_stage_hook(fault_hook)
    if os.environ.get(TASK_FAULTS_ENV) == "1":
        install_task_faults(settings)
    run_worker(
        app,
        pool=args.pool,
        concurrency=args.concurrency,
        queue=args.queue or settings.queue,
        hostname=args.hostname,
        loglevel=args.loglevel,
    )


if __name__ == "__main__":
    main()
