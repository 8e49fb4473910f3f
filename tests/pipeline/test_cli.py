"""The ``jobstate`` command line."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.testing.chaos.injector import FaultInjector
from pipeline.cli import cli
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.validation import MAX_SECONDS
from tests.silent import silent_redis_url
from tests.store.conftest import time_gap

COMMANDS = ["worker", "beat", "submit", "status", "retry", "cleanup", "serve", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert f" {command} " in result.output


def test_top_level_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.fixture
def cli_env(jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI at the test's Redis and key prefix."""
    for key, value in jobstate_settings.to_env().items():
        monkeypatch.setenv(key, value)
    return jobstate_settings


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_status_retry_cleanup(cli_env: Settings, state_store: JobStore) -> None:
    job_id = state_store.create("http://example.com/a.mp3").job_id
    runner = CliRunner()
    out = runner.invoke(cli, ["status", job_id])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["status"] == "INIT"

    refused = runner.invoke(cli, ["retry", job_id])
    assert refused.exit_code == 1
    assert "cannot go from INIT to INIT" in refused.output

    missing = runner.invoke(cli, ["status", "nope"])
    assert missing.exit_code == 1
    assert "job nope not found" in missing.output

    bad = runner.invoke(cli, ["status", "{bad}"])
    assert bad.exit_code == 1
    assert "job_id" in bad.output

    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    time_gap(state_store.client, 1)  # at 0 s a job is due once more than 0 ms old (strictly)
    swept = runner.invoke(cli, ["cleanup", "--stale-after", "0"])
    assert swept.exit_code == 0, swept.output
    assert "stale->ERROR: 1" in swept.output
    # Below the heartbeat's rule: done as asked, and said so.
    assert "note: --stale-after 0 is less than twice JOBSTATE_HEARTBEAT_SECONDS=" in swept.output
    beat = cli_env.heartbeat_seconds
    quiet = runner.invoke(cli, ["cleanup", "--stale-after", str(2 * beat)])
    assert "note:" not in quiet.output
    assert state_store.get_state(job_id)["status"] == "ERROR"


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_each_cleanup_option_sweeps_only_its_own_jobs(
    cli_env: Settings, state_store: JobStore
) -> None:
    """An age of 0 makes every job of its kind due now: purging errors leaves the
    finished job, archiving finished jobs leaves the failed one."""
    failed = state_store.create("http://example.com/a.mp3").job_id
    state_store.fail(failed, "boom", attempt=1)
    done = state_store.create("http://example.com/b.mp3").job_id
    for status in ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"):
        state_store.set_state(done, status, attempt=1)
    state_store.set_state(done, "COMPLETE", attempt=1, result={"summary": "s"})
    runner = CliRunner()

    purged = runner.invoke(cli, ["cleanup", "--purge-errors-after", "0"])
    assert purged.exit_code == 0, purged.output
    assert "purged: 1  archived: 0" in purged.output
    assert state_store.find_state(failed) is None
    assert state_store.get_state(done)["status"] == "COMPLETE"

    archived = runner.invoke(cli, ["cleanup", "--archive-after", "0"])
    assert archived.exit_code == 0, archived.output
    assert "purged: 0  archived: 1" in archived.output
    assert state_store.find_state(done) is None  # out of the live set, into the archive


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_submit_rejects_bad_url_and_stores_nothing(
    cli_env: Settings,
    state_store: JobStore,
) -> None:
    result = CliRunner().invoke(cli, ["submit", "file:///etc/passwd"])
    assert result.exit_code == 1
    assert "metadata.url" in result.output
    assert "'file'" in result.output
    assert state_store.list_jobs() == []


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_submit_wait_shows_every_status_until_complete(
    pipeline_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    jobstate_worker: object,
    media_server: SampleServer,
) -> None:
    for key, value in pipeline_settings.to_env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["submit", media_server.url, "--wait", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    for status in ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "COMPLETE"):
        assert f"-> {status}" in result.output
    assert "Transcript:" in result.output


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_submit_wait_exits_1_naming_the_stage_when_the_job_fails(
    pipeline_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    jobstate_worker: object,
    media_server: SampleServer,
    fault_injector: FaultInjector,
) -> None:
    """A script or a CI step reads the exit code: a job that ended in ERROR is a failure."""
    for key, value in pipeline_settings.to_env().items():
        monkeypatch.setenv(key, value)
    fault_injector.fail_at("TRANSCRIBING")
    result = CliRunner().invoke(cli, ["submit", media_server.url, "--wait", "--timeout", "120"])
    assert result.exit_code == 1, result.output
    assert "-> ERROR" in result.output
    assert "error: TRANSCRIBING: InjectedFault" in result.output


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_submit_wait_that_runs_out_is_a_failure_naming_what_the_job_waits_for(
    cli_env: Settings, state_store: JobStore
) -> None:
    """No worker here: the job stays in its initial status. A wait that ends before the
    job does must not exit 0, or ``jobstate submit --wait && next-step`` goes on."""
    result = CliRunner().invoke(
        cli, ["submit", "http://example.com/a.mp3", "--wait", "--timeout", "0.5"]
    )
    assert result.exit_code == 1, result.output
    [job] = state_store.list_jobs()
    assert f"job {job['job_id']} is still INIT after 0.5 s (--timeout)" in result.output
    assert "no worker has started it" in result.output


SECONDS_OPTIONS = [
    (["cleanup", "--stale-after"], False),
    (["cleanup", "--purge-errors-after"], False),
    (["cleanup", "--archive-after"], False),
    (["submit", "http://example.com/a.mp3", "--wait", "--timeout"], True),
]
NOWHERE = {"JOBSTATE_REDIS_URL": "redis://127.0.0.1:1/0"}  # the body would fail here, exit 1


def _refused(text: str, above_zero: bool) -> bool:
    try:
        seconds = float(text)
    except ValueError:
        return True
    too_long = seconds > MAX_SECONDS
    return not math.isfinite(seconds) or too_long or (seconds <= 0 if above_zero else seconds < 0)


@settings(max_examples=150, deadline=None)
@given(
    option=st.sampled_from(SECONDS_OPTIONS),
    text=st.text(max_size=10).filter(lambda t: not t.startswith("-") or t[1:2].isdigit())
    | st.floats().map(repr),
)
def test_a_number_of_seconds_no_sweep_or_wait_can_use_is_refused_before_anything_runs(
    option: tuple[list[str], bool], text: str
) -> None:
    # Slip: ``nan``, ``inf`` or a negative age let through (a sweep matching every job,
    # a wait for ever); the submit's timeout refused only after the job was submitted.
    args, above_zero = option
    result = CliRunner().invoke(cli, [*args, text], env=NOWHERE)
    if _refused(text, above_zero):
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '{args[-1]}'" in result.output
    else:
        assert result.exit_code == 1, result.output  # accepted: the body ran, Redis is nowhere


@pytest.mark.parametrize(
    ("args", "text", "refused"),
    [
        (["cleanup", "--stale-after"], "0", False),
        (["cleanup", "--stale-after"], "-1e-9", True),
        (["submit", "http://example.com/a.mp3", "--timeout"], "5e-324", False),
        (["submit", "http://example.com/a.mp3", "--timeout"], "0", True),
        (["cleanup", "--archive-after"], str(MAX_SECONDS), False),
        (["cleanup", "--archive-after"], str(MAX_SECONDS + 1), True),
    ],
)
def test_seconds_at_their_bound(args: list[str], text: str, refused: bool) -> None:
    result = CliRunner().invoke(cli, [*args, text], env=NOWHERE)
    assert (result.exit_code == 2) is refused, result.output


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """Function: the URL of a server that accepts connections and never answers (a Redis
    behind a dead link): only a timeout ends a call to it."""
    with silent_redis_url() as url:
        yield url


@pytest.mark.parametrize("args", [["status", "job-1"], ["retry", "job-1"], ["cleanup"]])
def test_a_redis_that_never_answers_is_reported_not_waited_on_for_ever(
    silent_redis: str, args: list[str]
) -> None:
    """Each command gives up on a silent Redis after its socket timeout and says so;
    the command runs aside, so one that waits for ever fails here instead of hanging."""
    outcome: list[Result] = []
    env = {"JOBSTATE_REDIS_URL": silent_redis}
    aside = threading.Thread(
        target=lambda: outcome.append(CliRunner().invoke(cli, args, env=env)), daemon=True
    )
    aside.start()
    aside.join(timeout=30)
    assert outcome, f"jobstate {' '.join(args)} was still waiting on a silent Redis after 30 s"
    [result] = outcome
    assert result.exit_code == 1, result.output
    assert "Redis" in result.output, result.output
    assert "Traceback" not in result.output


APP_COMMANDS = [
    ["worker"],
    ["beat"],
    ["submit", "https://media.example/a.mp3"],
    ["status", "job-1"],
    ["retry", "job-1"],
    ["cleanup"],
    ["serve"],
]


@pytest.mark.parametrize(
    "target",
    [
        "no_such_module:app",
        "pipeline.cli:no_such_app",
        "json:dumps",  # a callable that is no app factory: it raises TypeError when called
    ],
)
@pytest.mark.parametrize("args", APP_COMMANDS, ids=[a[0] for a in APP_COMMANDS])
def test_an_app_that_cannot_be_loaded_is_one_error_line_from_every_command(
    args: list[str], target: str
) -> None:
    result = CliRunner().invoke(cli, [*args, "--app", target], env=NOWHERE)
    assert result.exit_code == 1, result.output
    assert f"Error: --app {target}: " in result.output, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, ValueError), result.exception


@pytest.mark.parametrize("args", APP_COMMANDS[2:], ids=[a[0] for a in APP_COMMANDS[2:]])
def test_an_app_with_no_tracker_is_one_error_line_saying_how_to_make_one(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands that read jobs need the app's workflow, which its tracker holds."""
    (tmp_path / "plainapp.py").write_text('from celery import Celery\napp = Celery("plain")\n')
    monkeypatch.chdir(tmp_path)  # found where the command runs, as `celery -A` finds it
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, [*args, "--app", "plainapp:app"], env=NOWHERE)
    assert result.exit_code == 1, result.output
    assert "Error: --app plainapp:app: Celery app 'plain' has no jobstate tracker" in result.output
    assert "Traceback" not in result.output
