"""The ``jobstate`` command: worker, beat, submit, status, retry, cleanup, serve, demo, audit."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click
import redis
from click.core import ParameterSource
from rich.console import Console

from pipeline.cli_input import bad_input, read_job_input
from pipeline.errors import JobStateError, StoreUnavailable, ValidationError, printable
from pipeline.loading import target_problem
from pipeline.settings import Settings, SettingsError
from pipeline.validation import SECONDS_RANGE, finite_number
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["main"]

APP_HELP = (
    "Celery app (or factory f(settings)) whose workflow the job follows, as "
    "module:attribute [env JOBSTATE_APP; default: the media pipeline]."
)


class EnvOption(click.Option):
    """An option that falls back to a ``JOBSTATE_*`` variable. The one gate of every such
    option: a value read from the variable that the option's type refuses is an error
    naming the variable (the fix goes there), not the flag nobody typed."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        """``'JOBSTATE_<NAME>'`` when the value came from it, else the flag."""
        if isinstance(self.envvar, str) and _from_env(ctx, self.name):
            return f"'{self.envvar}'"
        return super().get_error_hint(ctx)


def _from_env(ctx: click.Context | None, name: str | None) -> bool:
    """Whether option ``name`` of the command at ``ctx`` took its value from its variable."""
    if ctx is None or name is None:
        return False
    return ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT


if TYPE_CHECKING:
    _FloatParam = click.ParamType[float]
    _TextParam = click.ParamType[str]
else:  # generic only from click 8.2; the project allows 8.1
    _FloatParam = _TextParam = click.ParamType


class Target(_TextParam):
    """A ``module:attribute`` name, checked for its form as it is read (the module is
    imported where it is used); ``blank_ok``: empty means none."""

    name = "module:attribute"

    def __init__(self, *, blank_ok: bool = False) -> None:
        self.blank_ok = blank_ok

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """``value``, or a usage error saying what form it must have."""
        if self.blank_ok and value == "":
            return ""
        problem = target_problem(value) if isinstance(value, str) else "must be text"
        if problem is not None:
            self.fail(f"{printable(repr(value), 200)} {problem}", param, ctx)
        return str(value)


app_option = click.option(
    "--app",
    "app_target",
    cls=EnvOption,
    type=Target(),
    default=None,
    envvar="JOBSTATE_APP",
    help=APP_HELP,
)


def _app_named(app_target: str | None) -> str | None:
    """How errors name the app target: ``JOBSTATE_APP=<target>`` when it came from the
    variable, ``--app <target>`` when typed."""
    if app_target is None:
        return None
    if _from_env(click.get_current_context(silent=True), "app_target"):
        return f"JOBSTATE_APP={app_target}"
    return f"--app {app_target}"


def _runtime(app_target: str | None = None) -> Any:
    """Store, app and service for the media pipeline, or for the app at ``app_target``."""
    from pipeline.runtime import runtime_for

    try:
        return runtime_for(app_target, Settings.from_env(), named=_app_named(app_target))
    except SettingsError:
        raise  # main() reports it, as for every command
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


class Seconds(_FloatParam):
    """A finite number of seconds, at least 0 (``above_zero``: more than 0): ``nan``,
    ``inf`` or a negative age would sweep or wait for ever, or match every job."""

    name = "seconds"

    def __init__(self, *, above_zero: bool = False) -> None:
        self.above_zero = above_zero

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The number of seconds ``value`` names, or a usage error saying what it must be."""
        seconds = finite_number(value, from_text=True)
        if seconds is None or seconds < 0 or (self.above_zero and seconds == 0):
            bound = "above 0" if self.above_zero else "at least 0"
            self.fail(
                f"{value!r} is not a finite number of seconds {bound} ({SECONDS_RANGE})",
                param,
                ctx,
            )
        return seconds


def _worker_app(app_target: str, settings: Settings) -> Any:
    """The Celery app ``jobstate worker`` / ``beat`` run; one that cannot be loaded is an
    error line naming ``--app``, as for every other command (:func:`runtime.app_at`)."""
    from pipeline.runtime import app_at

    try:
        return app_at(app_target, settings)
    except SettingsError:
        raise  # main() reports it, as for every command
    except ValueError as exc:
        _fail(exc)


def _fail(exc: Exception) -> NoReturn:
    raise click.ClickException(printable(str(exc), 2000)) from exc


class _Commands(click.Group):
    """The command group, and the one gate every command passes: a Redis that cannot be
    reached, or that refuses a command, is an error line and exit 1, never a traceback
    (whatever the command, whichever call found it)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreUnavailable as exc:
            _fail(exc)
        except redis.RedisError as exc:
            text = f"Redis refused: {type(exc).__name__}: {exc}"
            raise click.ClickException(printable(text, 2000)) from exc


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--queue", "-Q", default=None, help="Queue (default: the app's task_default_queue).")
@click.option("--hostname", "-n", default=None)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option(
    "--faults",
    cls=EnvOption,
    is_flag=True,
    envvar="JOBSTATE_FAULTS",
    help="Honour fault plans (fail, hang, kill at a stage) for tests and demos.",
)
def worker(
    app_target: str,
    pool: str,
    concurrency: int,
    queue: str | None,
    hostname: str | None,
    loglevel: str,
    faults: bool,
) -> None:
    """Run a Celery worker for the pipeline (prefork by default)."""
    from pipeline.worker import run_worker

    settings = Settings.from_env()
    if faults:
        from pipeline.faults import fault_hook
        from pipeline.tracking import add_stage_hook

        add_stage_hook(fault_hook)
    app = _worker_app(app_target, settings)
    run_worker(
        app,
        pool=pool,
        concurrency=concurrency,
        queue=queue or app.conf.task_default_queue or settings.queue,
        hostname=hostname,
        loglevel=loglevel,
    )


@cli.command()
@click.option("--app", "app_target", default="pipeline.celery_app:app", show_default=True)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--schedule", default=None, help="Beat schedule file.")
def beat(app_target: str, loglevel: str, schedule: str | None) -> None:
    """Run Celery beat: sweeps stale jobs to ERROR every 30 s."""
    from pipeline.worker import run_beat

    run_beat(_worker_app(app_target, Settings.from_env()), loglevel=loglevel, schedule=schedule)


@cli.command()
@click.argument("url", required=False)
@click.option(
    "--input",
    "input_json",
    default=None,
    metavar="JSON",
    help="The job's input as a JSON object (or @file.json), for a workflow whose input "
    "is not a media URL.",
)
@click.option("--space-id", default=None, help="Optional space id stored with the job.")
@app_option
@click.option("--wait", is_flag=True, help="Show status and progress live until done.")
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    type=Seconds(above_zero=True),
    help="Seconds to wait.",
)
def submit(
    url: str | None,
    input_json: str | None,
    space_id: str | None,
    app_target: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Submit a job: a media URL, or --input JSON for another workflow; prints its id.

    With --wait, exits 1 if the job ends in the error status. Examples:

    \b
      jobstate submit https://example.com/talk.mp3 --space-id s1

      jobstate submit --app resizer.app:app --input '{"image": "cat.png", "width": 64}'
    """
    from pipeline.display import render_result, watch_job

    if (url is None) == (input_json is None):
        raise click.UsageError("give either a URL or --input JSON, not both or neither")
    rt = _runtime(app_target)
    job_input = read_job_input(url, input_json, rt.store.workflow.input.max_bytes)
    try:
        record = rt.service.submit(job_input, space_id)
    except ValidationError as exc:
        if input_json is not None:  # JSON the workflow cannot take: a usage error too
            bad_input(str(exc))
        _fail(exc)
    except JobStateError as exc:
        _fail(exc)
    console = Console()
    console.print(record["job_id"])
    if not wait:
        return
    final = watch_job(rt.store, record["job_id"], console, timeout)
    _finish(console, final)
    _ended_in_time(rt.store.workflow, final, timeout)
    if not final or final["status"] != rt.store.workflow.happy_path()[-1]:
        return
    if app_target is None:
        render_result(console, final)
    else:
        click.echo(json.dumps(final["result"], indent=2))


def _ended_in_time(workflow: Workflow, final: dict[str, Any] | None, timeout: float) -> None:
    """A wait that ran out before the job ended is a failure (exit code 1), never a
    success a script would go on from; it says what the job is waiting for."""
    if final is None or final["status"] in workflow.terminal:
        return
    waiting = (
        "no worker has started it: is one running for this app, reading its queue?"
        if final["status"] == workflow.initial
        else "it has not ended"
    )
    raise click.ClickException(
        f"job {final['job_id']} is still {final['status']} after {timeout:g} s (--timeout): "
        f"{waiting}"
    )


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
@app_option
def status(job_id: str, history: bool, app_target: str | None) -> None:
    """Print a job's state record as JSON."""
    rt = _runtime(app_target)
    try:
        out: dict[str, Any] = rt.service.get(job_id)
        if history:
            out["history"] = rt.service.history(job_id)
    except JobStateError as exc:
        _fail(exc)
    click.echo(json.dumps(out, indent=2))


@cli.command()
@click.argument("job_id")
@app_option
def retry(job_id: str, app_target: str | None) -> None:
    """Retry a job in ERROR (starts attempt N+1; refused in any other status)."""
    rt = _runtime(app_target)
    try:
        record = rt.service.retry(job_id)
    except JobStateError as exc:
        _fail(exc)
    click.echo(f"{job_id}: attempt {record['attempt']} started")


@cli.command()
@click.option(
    "--stale-after",
    type=Seconds(),
    default=None,
    help="Seconds without heartbeat before a running job is ERROR "
    "(default JOBSTATE_STALE_AFTER_SECONDS).",
)
@click.option(
    "--purge-errors-after",
    type=Seconds(),
    default=None,
    help="Delete jobs in ERROR for longer than this many seconds.",
)
@click.option(
    "--archive-after",
    type=Seconds(),
    default=None,
    help="Archive jobs COMPLETE for longer than this many seconds.",
)
@app_option
def cleanup(
    stale_after: float | None,
    purge_errors_after: float | None,
    archive_after: float | None,
    app_target: str | None,
) -> None:
    """Sweep stale jobs to ERROR; optionally purge old errors and archive old results."""
    from pipeline.cleanup import sweep_all

    rt = _runtime(app_target)
    beat = rt.settings.heartbeat_seconds
    if stale_after is not None and stale_after < 2 * beat:
        # Allowed on purpose (every worker is gone: end their jobs now), never silently.
        click.echo(
            f"note: --stale-after {stale_after:g} is less than twice "
            f"JOBSTATE_HEARTBEAT_SECONDS={beat:g}: a job whose worker is alive and beating "
            "may be moved to ERROR too",
            err=True,
        )
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


MAX_UI_WORKERS = 4 * (os.cpu_count() or 1)
"""The most server processes ``jobstate serve --workers`` starts: each holds a whole
copy of the app (tens of MB), and more than a few per core only queue behind each other."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_UI_WORKERS),
    cls=EnvOption,
    envvar="JOBSTATE_UI_WORKERS",
    help="Server processes on the one port (uvicorn's workers; at most 4 per core) "
    "[env JOBSTATE_UI_WORKERS].",
)
@app_option
def serve(host: str, port: int, workers: int, app_target: str | None) -> None:
    """Serve the web UI and JSON API."""
    if workers > 1:
        from ui.server import serve_workers

        _runtime(app_target).close()  # refuse a bad --app or settings here, not in N processes
        serve_workers(workers, host, port, app_target=app_target)
        return
    from ui.server import serve as run

    run(_runtime(app_target).service, host, port)


@cli.command()
@click.option(
    "--fail-at",
    type=click.Choice(PRD_WORKFLOW.stages),
    default=None,
    help="Inject a failure at this stage, show ERROR, then retry to COMPLETE.",
)
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="UI port (default: a free one)."
)
@click.option("--keep-open", is_flag=True, help="Keep serving the UI until Ctrl-C.")
def demo(fail_at: str | None, port: int, keep_open: bool) -> None:
    """Run the whole pipeline on an embedded Redis, a prefork worker and the UI.

    Needs the media extra (pip install 'pytest-jobstate[media]').
    """
    from pipeline.demo import run_demo
    from pipeline.stages.stage_errors import TranscriptionError
    from pipeline.stages.transcribe import media_module

    try:
        for name in ("av", "numpy", "pocketsphinx"):
            media_module(name)
    except TranscriptionError as exc:
        raise click.ClickException(f"jobstate demo: {exc}") from None
    sys.exit(run_demo(fail_at=fail_at, ui_port=port, keep_open=keep_open))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--app",
    "app_target",
    cls=EnvOption,
    type=Target(),
    required=True,
    envvar="JOBSTATE_APP",
    help="Celery app (or factory f(settings)) to audit, as module:attribute [env JOBSTATE_APP].",
)
@click.option(
    "--adapter",
    cls=EnvOption,
    type=Target(blank_ok=True),
    default="",
    envvar="JOBSTATE_ADAPTER",
    help="State adapter (module:Class) of an app that keeps its own job state "
    "[env JOBSTATE_ADAPTER].",
)
@click.option("--stages", default="", help="Audit only these stages (comma-separated).")
@click.option("--faults", default="", help="Audit only these faults (comma-separated).")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="What the state machine draws: the same seed draws the same runs (default: 0).",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def audit(
    app_target: str,
    adapter: str,
    stages: str,
    faults: str,
    seed: int | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Audit an app's job state: every stage through every fault on real workers, its
    Celery settings and a state machine; the report card goes to test-results/.

    Runs ``pytest --jobstate-audit`` here (extra arguments go to pytest) and exits with
    its code. Needs redis-server on PATH.
    """
    import subprocess

    # As the plugin's own flags: they outrank every other source of the plugin's settings
    # (a JOBSTATE_APP left in the environment, a project's ini), so the app audited is the
    # one this command names, wherever it came from.
    command = [sys.executable, "-m", "pytest", "--jobstate-audit", f"--jobstate-app={app_target}"]
    command += [f"--jobstate-adapter={adapter}"] if adapter else []
    command += [f"--jobstate-audit-stages={stages}"] if stages else []
    command += [f"--jobstate-audit-faults={faults}"] if faults else []
    command += [f"--jobstate-audit-seed={seed}"] if seed is not None else []
    sys.exit(subprocess.call([*command, *pytest_args]))


def main() -> None:
    """Console-script entry point: a setting that cannot work is a usage error (exit 2)
    naming its variable, whichever command read it."""
    try:
        cli()
    except SettingsError as exc:
        click.echo(f"Error: {printable(str(exc), 2000)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
