"""Another team's Celery instance under the plugin: every mode, put back afterwards,
its tracker's workflow by default, clear errors, and its import path in worker processes."""

from __future__ import annotations

import pytest

from tests.plugin.user_project import (
    APP,
    PRODUCTION_BROKER,
    PRODUCTION_QUEUE,
    clear_jobstate_env,
    run,
    run_here,
    write_module,
    write_project,
)

pytestmark = pytest.mark.usefixtures("clean_env")

MODES = [
    pytest.param("eager", id="eager"),
    pytest.param("thread", id="thread", marks=pytest.mark.integration),
    pytest.param("prefork", id="prefork", marks=pytest.mark.prefork),
]

JOB_TESTS = f"""
import mine


def test_job_runs_on_the_instance(job_runner, state_recorder, jobstate_celery_app, state_store):
    assert jobstate_celery_app is mine.app
    assert state_store.workflow is mine.flow
    job_id = job_runner.submit("https://example.com/in.mp3")
    record = job_runner.wait_for(job_id, "DONE", timeout=60)
    assert record["result"]["answer"] == 42
    assert record["result"]["prefix"] == state_store.settings.key_prefix
    state_recorder.assert_path(job_id, ["NEW", "WORK", "DONE"])


def test_the_instance_is_put_back_afterwards():
    assert mine.app.conf.broker_url == {PRODUCTION_BROKER!r}
    assert mine.app.conf.task_default_queue == {PRODUCTION_QUEUE!r}
    assert mine.app.conf.get("jobstate_settings") is None
    assert not mine.app.conf.task_always_eager
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` variable of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


def _mode_args(mode: str) -> list[str]:
    args = [f"--jobstate-celery={mode}"]
    return args if mode == "eager" else [*args, "--jobstate-redis=server"]


@pytest.mark.parametrize("mode", MODES)
def test_a_celery_instance_works_in_every_mode(pytester: pytest.Pytester, mode: str) -> None:
    write_project(pytester)
    pytester.makepyfile(JOB_TESTS)
    runner = run_here if mode == "eager" else run  # real workers get a process of their own
    result = runner(pytester, *_mode_args(mode))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*app=mine:app (ini)*workflow=the app's tracker's (default)*"])


def test_a_workflow_other_than_the_trackers_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_project(pytester, "jobstate_workflow = pipeline.workflow:PRD_WORKFLOW\n")
    pytester.makepyfile("def test_job(job_runner):\n    pass\n")
    result = run_here(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*UsageError: workflow 'media' from jobstate_workflow="
            "'pipeline.workflow:PRD_WORKFLOW' (ini) is not the workflow 'mine' of the "
            "tracker on jobstate_app='mine:app'*"
        ]
    )


def test_an_app_without_a_tracker_says_how_to_make_one(pytester: pytest.Pytester) -> None:
    write_module(pytester.path, "bare", "from celery import Celery\napp = Celery('bare')\n")
    pytester.makeini("[pytest]\njobstate_app = bare:app\n")
    pytester.makepyfile("def test_store(state_store):\n    pass\n")
    result = run_here(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*jobstate_app='bare:app': Celery app 'bare' has no jobstate tracker: "
            "make one with pipeline.tracking.Tracker(app, workflow)*"
        ]
    )


def test_a_factory_that_returns_no_app_is_named(pytester: pytest.Pytester) -> None:
    write_module(pytester.path, "odd", "def make(settings):\n    return 'not an app'\n")
    pytester.makeini("[pytest]\njobstate_app = odd:make\n")
    pytester.makepyfile("def test_store(state_store):\n    pass\n")
    result = run_here(pytester)
    # Stopped at start, once, not in every test that builds the app.
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert text.count("jobstate_app='odd:make' returned a str, not a Celery app") == 1, text
    assert "[set by ini; fix jobstate_app]" in text


@pytest.mark.prefork
def test_the_worker_imports_from_the_pythonpath_ini_when_run_from_a_parent_folder(
    pytester: pytest.Pytester,
) -> None:
    project = pytester.mkdir("project")
    (project / "src").mkdir()
    write_module(project / "src", "minepkg.tasks", APP)
    (project / "pytest.ini").write_text(
        "[pytest]\npythonpath = src\njobstate_app = minepkg.tasks:app\n", encoding="utf-8"
    )
    (project / "tests").mkdir()
    (project / "tests" / "test_job.py").write_text(
        "def test_job(job_runner):\n"
        "    job_id = job_runner.submit('https://example.com/in.mp3')\n"
        "    assert job_runner.wait_for(job_id, 'DONE', timeout=60)['result']['answer'] == 42\n",
        encoding="utf-8",
    )
    result = run(pytester, "project", "--jobstate-celery=prefork", "--jobstate-redis=server")
    result.assert_outcomes(passed=1)


def test_a_jobstate_variable_the_app_cannot_use_is_named_at_start(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's tracker reads ``JOBSTATE_*`` as it loads: a bad value is a usage error
    naming the variable and saying where it was read, not a fault of the app option."""
    clear_jobstate_env(monkeypatch)
    write_project(pytester)
    monkeypatch.setenv("JOBSTATE_HEARTBEAT_SECONDS", "abc")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run_here(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "JOBSTATE_HEARTBEAT_SECONDS='abc' is not a valid float" in output, output
    assert "read from the environment as jobstate_app=mine:app loaded" in output
    assert "fix jobstate_app" not in output
