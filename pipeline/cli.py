"""The ``jobstate`` command: worker, beat, submit, status, retry, cleanup, serve, demo."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console

from pipeline.errors import JobStateError
from pipeline.settings import Settings

__all__ = ["main"]

STAGES = ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY")


def _runtime() -> Any:
    from pipeline.runtime import build_runtime

    return build_runtime(Settings.from_env())


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Honest job state for Celery + Redis, and the reference media pipeline.

    Configuration comes from JOBSTATE_* variables (JOBSTATE_REDIS_URL, ...).
    """


@cli.command()
@click.option(
    "--app",
    "app_target",
    default="pipeline.celery_app:app",
    show_default=True,
    help="Celery app or factory f(settings), as module:attribute.",
)
@click.option("--pool", default="prefork", show_default=True)
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--queue", "-Q", default=None, help="Queue (default: JOBSTATE_QUEUE).")
@click.option("--hostname", "-n", default=None)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def worker(
    app_target: str,
    pool: str,
    concurrency: int,
    queue: str | None,
    hostname: str | None,
    loglevel: str,
) -> None:
    """Run a Celery worker for the pipeline (prefork by default)."""
    from pipeline.worker import load_app, run_worker

    settings = Settings.from_env()
    run_worker(
        load_app(app_target, settings),
        pool=pool,
        concurrency=concurrency,
        queue=queue or settings.queue,
        hostname=hostname,
        loglevel=loglevel,
    )


@cli.command()
@click.option("--app", "app_target", default="pipeline.celery_app:app", show_default=True)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--schedule", default=None, help="Beat schedule file.")
def beat(app_target: str, loglevel: str, schedule: str | None) -> None:
    """Run Celery beat: sweeps stale jobs to ERROR every 30 s."""
    from pipeline.worker import load_app, run_beat

    run_beat(load_app(app_target, Settings.from_env()), loglevel=loglevel, schedule=schedule)


@cli.command()
@click.argument("url")
@click.option("--space-id", default=None, help="Optional space id stored with the job.")
@click.option("--wait", is_flag=True, help="Show status and progress live until done.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait.")
def submit(url: str, space_id: str | None, wait: bool, timeout: float) -> None:
    """Submit a media URL; prints the job id (exit 1 if it ends in ERROR with --wait)."""
    from pipeline.display import render_result, watch_job

    rt = _runtime()
    try:
        record = rt.service.submit(url, space_id)
    except JobStateError as exc:
        _fail(exc)
    console = Console()
    console.print(record["job_id"])
    if not wait:
        return
    final = watch_job(rt.store, record["job_id"], console, timeout)
    _finish(console, final)
    if final and final["status"] == rt.store.workflow.happy_path()[-1]:
        render_result(console, final)


def _finish(console: Console, final: dict[str, Any] | None) -> None:
    if final is None:
        raise click.ClickException("job disappeared (cleared?)")
    console.print(f"{final['status']}: {final['message']}")
    if final.get("error"):
        console.print(f"error: {final['error']}", style="red", markup=False)
        sys.exit(1)


@cli.command()
@click.argument("job_id")
@click.option("--history", is_flag=True, help="Also print every recorded change.")
def status(job_id: str, history: bool) -> None:
    """Print a job's state record as JSON."""
    rt = _runtime()
    try:
        out: dict[str, Any] = rt.service.get(job_id)
        if history:
            out["history"] = rt.service.history(job_id)
    except JobStateError as exc:
        _fail(exc)
    click.echo(json.dumps(out, indent=2))


@cli.command()
@click.argument("job_id")
def retry(job_id: str) -> None:
    """Retry a job in ERROR (starts attempt N+1; refused in any other status)."""
    rt = _runtime()
    try:
        record = rt.service.retry(job_id)
    except JobStateError as exc:
        _fail(exc)
    click.echo(f"{job_id}: attempt {record['attempt']} started")


@cli.command()
@click.option(
    "--stale-after",
    type=float,
    default=None,
    help="Seconds without heartbeat before a running job is ERROR "
    "(default JOBSTATE_STALE_AFTER_SECONDS).",
)
@click.option(
    "--purge-errors-after",
    type=float,
    default=None,
    help="Delete jobs in ERROR for longer than this many seconds.",
)
@click.option(
    "--archive-after",
    type=float,
    default=None,
    help="Archive jobs COMPLETE for longer than this many seconds.",
)
def cleanup(
    stale_after: float | None, purge_errors_after: float | None, archive_after: float | None
) -> None:
    """Sweep stale jobs to ERROR; optionally purge old errors and archive old results."""
    from pipeline.cleanup import sweep_all

    rt = _runtime()
    report = sweep_all(
        rt.store,
        stale_after=stale_after,
        purge_after=purge_errors_after,
        archive_after=archive_after,
    )
    click.echo(
        f"stale->ERROR: {len(report.stale)}  purged: {len(report.purged)}  "
        f"archived: {len(report.archived)}"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web UI and JSON API."""
    from ui.server import serve as run

    run(_runtime().service, host, port)


@cli.command()
@click.option(
    "--fail-at",
    type=click.Choice(STAGES),
    default=None,
    help="Inject a failure at this stage, show ERROR, then retry to COMPLETE.",
)
@click.option("--port", default=0, type=int, help="UI port (default: a free one).")
@click.option("--keep-open", is_flag=True, help="Keep serving the UI until Ctrl-C.")
def demo(fail_at: str | None, port: int, keep_open: bool) -> None:
    """Run the whole pipeline on an embedded Redis, a prefork worker and the UI."""
    from pipeline.demo import run_demo

    sys.exit(run_demo(fail_at=fail_at, ui_port=port, keep_open=keep_open))


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
