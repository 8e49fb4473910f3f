"""The Celery side of the plugin, driven through pytester as another repo would use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.user_project import run_here

pytest_plugins = ["pytester"]

PASSING_RUN = """
def test_run(job_runner, state_recorder):
    job_id = job_runner.submit("http://example.com/a.mp3")
    record = job_runner.wait_for(job_id, "COMPLETE", timeout=30)
    state_recorder.assert_path(job_id, ["INIT", "DOWNLOADING", "TRANSCRIBING",
                                        "GENERATING_QUOTES", "GENERATING_SUMMARY",
                                        "COMPLETE"])
    assert record["result"]["seen"]
"""


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def probe_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the plugin at the probe app (no network needed), importable from this repo."""
    pytester.makeini("""
        [pytest]
        jobstate_app = tests.pipeline.apps:create_probe_app
    """)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def test_ini_points_the_fixtures_at_another_app(pytester: pytest.Pytester, probe_ini: None) -> None:
    pytester.makepyfile(PASSING_RUN)
    result = run_here(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*app=tests.pipeline.apps:create_probe_app (ini)*"])


def test_failed_test_report_carries_the_timeline(
    pytester: pytest.Pytester, probe_ini: None
) -> None:
    pytester.makepyfile("""
        def test_wrong_path(job_runner, state_recorder):
            job_id = job_runner.submit("http://example.com/a.mp3")
            job_runner.wait_for(job_id, "COMPLETE", timeout=30)
            state_recorder.assert_path(job_id, ["INIT", "COMPLETE"])
    """)
    result = run_here(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*jobstate timeline*",
            "*v1 a1 create*-> INIT*",
            "*transition*GENERATING_SUMMARY -> COMPLETE*",
        ]
    )


def test_runner_timeout_fails_with_history(pytester: pytest.Pytester, probe_ini: None) -> None:
    pytester.makepyfile("""
        def test_never(job_runner, fault_injector):
            fault_injector.fail_at("TRANSCRIBING")
            job_id = job_runner.submit("http://example.com/a.mp3")
            job_runner.wait_for(job_id, "COMPLETE", timeout=1)
    """)
    result = run_here(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*JobTimeout: job * never reached COMPLETE: ended in ERROR instead; last state: ERROR*",
            "*TRANSCRIBING -> ERROR*InjectedFault*",
        ]
    )


def test_real_worker_on_fake_redis_is_a_clear_usage_error(
    pytester: pytest.Pytester, probe_ini: None
) -> None:
    """Chosen together, the two cannot work: one usage error before any test, naming both
    and where each was set (not an error per test)."""
    pytester.makepyfile(PASSING_RUN)
    result = run_here(pytester, "--jobstate-celery=thread", "--jobstate-redis=fake")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--jobstate-celery=thread (cli) needs a Redis other processes can reach, and "
            "--jobstate-redis=fake (cli) lives in the test process only*"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_test_that_forces_fake_redis_on_a_real_worker_is_told_why(
    pytester: pytest.Pytester, probe_ini: None
) -> None:
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.jobstate_redis('fake')\n" + PASSING_RUN.lstrip()
    )
    result = run_here(pytester, "--jobstate-celery=thread")
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*--jobstate-celery=thread needs a Redis other processes can reach*"]
    )


def test_bad_celery_mode_is_rejected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = run_here(pytester, "--jobstate-celery=forked")
    assert result.ret != 0
    result.stderr.fnmatch_lines(
        ["*--jobstate-celery='forked' (from cli) is not one of eager, thread, prefork*"]
    )


@pytest.mark.integration
def test_a_real_worker_with_no_redis_chosen_gets_a_reachable_one(
    pytester: pytest.Pytester, probe_ini: None
) -> None:
    pytester.makepyfile(
        PASSING_RUN
        + """

import pytest


@pytest.mark.jobstate_celery("thread")
def test_marked(redis_backend, jobstate_worker):
    assert redis_backend.mode == "fake-tcp"


def test_unmarked(redis_backend):
    assert redis_backend.mode == "fake"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_thread_mode_from_env(
    pytester: pytest.Pytester, probe_ini: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBSTATE_CELERY", "thread")
    monkeypatch.setenv("JOBSTATE_REDIS", "server")
    pytester.makepyfile(
        PASSING_RUN
        + """

def test_mode(jobstate_celery_mode, jobstate_worker):
    assert jobstate_celery_mode == "thread"
    assert jobstate_worker is not None
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*celery=thread (env)*"])
