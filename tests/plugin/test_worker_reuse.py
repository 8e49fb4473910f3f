"""One real worker serves test after test, each with its own prefix, queue, files and faults."""

from __future__ import annotations

import pytest

from tests.plugin.user_project import clear_jobstate_env, run, write_project

MODES = [
    pytest.param("thread", id="thread", marks=pytest.mark.integration),
    pytest.param("prefork", id="prefork", marks=pytest.mark.prefork),
]

REUSE_TESTS = """
import os

import pytest

SEEN = {}


def worker_id(worker):
    return getattr(worker, "pid", None) or worker.node


def test_first(job_runner, fault_injector, jobstate_worker, pipeline_settings):
    # Armed for more runs than this test makes: nothing of it may reach the next test.
    fault_injector.fail_at("WORK", times=5)
    job_id = job_runner.submit("https://example.com/in.mp3")
    record = job_runner.wait_for(job_id, "FAILED", timeout=60)
    assert record["error"].startswith("WORK: InjectedFault")
    SEEN["worker"] = worker_id(jobstate_worker)
    SEEN["queue"] = pipeline_settings.queue


def test_second(job_runner, state_recorder, jobstate_worker, pipeline_settings, tmp_path):
    assert worker_id(jobstate_worker) == SEEN["worker"], "the worker was not reused"
    assert pipeline_settings.queue != SEEN["queue"]
    job_id = job_runner.submit("https://example.com/in.mp3")
    result = job_runner.wait_for(job_id, "DONE", timeout=60)["result"]
    assert result["prefix"] == pipeline_settings.key_prefix
    assert result["root"].startswith(str(tmp_path))
    state_recorder.assert_path(job_id, ["NEW", "WORK", "DONE"])


class TestAnotherPoolSize:
    @pytest.fixture
    def jobstate_worker_concurrency(self):
        return 3

    def test_gets_its_own_worker(self, jobstate_worker, job_runner):
        assert worker_id(jobstate_worker) != SEEN["worker"]
        job_id = job_runner.submit("https://example.com/in.mp3")
        assert job_runner.wait_for(job_id, "DONE", timeout=60)
"""


@pytest.mark.parametrize("mode", MODES)
def test_the_worker_is_reused_and_each_test_stays_isolated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clear_jobstate_env(monkeypatch)
    write_project(pytester)
    pytester.makepyfile(REUSE_TESTS)
    # The scenario is the order: the second test finds the first one's worker.
    result = run(
        pytester, f"--jobstate-celery={mode}", "--jobstate-redis=server", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3)


IDENTIFY = """
SEEN = {}


def worker_id(worker):
    return getattr(worker, "pid", None) or worker.node
"""
FRESH_WORKER = """

def test_next_gets_a_fresh_worker(job_runner, jobstate_worker):
    assert worker_id(jobstate_worker) != SEEN["worker"], "{why}"
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "DONE", timeout=60)
"""
"""The next test of a pair: it must find another worker than the first test's."""

DOUBT_TESTS = (
    IDENTIFY
    + """


def test_fails_and_leaves_its_worker_in_doubt(job_runner, jobstate_worker):
    SEEN["worker"] = worker_id(jobstate_worker)
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "DONE", timeout=60)
    assert False, "failed after its job: nothing says what its worker holds now"

"""
)
DOUBT_TESTS += FRESH_WORKER.format(why="a worker in doubt was lent again")
DOUBT_TESTS += """
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_tests_worker_is_never_lent_to_the_next_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Whatever the failed test left behind (a hung stage, a planted fault, a half-done
    job) must not decide the next test's verdict: its worker ends with it."""
    clear_jobstate_env(monkeypatch)
    write_project(pytester)
    pytester.makepyfile(DOUBT_TESTS)
    result = run(
        pytester, f"--jobstate-celery={mode}", "--jobstate-redis=server", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*failed after its job*"])


IN_FLIGHT_TESTS = (
    IDENTIFY
    + """


def test_passes_with_a_job_still_queued(jobstate_worker, state_store):
    SEEN["worker"] = worker_id(jobstate_worker)
    # A job the test never waits for: nothing says whether the worker is running it.
    state_store.create("https://example.com/in.mp3")

"""
)
IN_FLIGHT_TESTS += FRESH_WORKER.format(why="a worker with work left was lent")
IN_FLIGHT_TESTS += """


def test_a_test_that_finished_its_jobs_leaves_its_worker_to_the_next(
    job_runner, jobstate_worker
):
    SEEN["kept"] = worker_id(jobstate_worker)
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "DONE", timeout=60)


def test_and_the_next_gets_it(jobstate_worker):
    assert worker_id(jobstate_worker) == SEEN["kept"]
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_that_may_still_run_a_tests_job_is_never_lent_to_the_next_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A passed test's job still queued or running would run, log and fail during the
    next test's: its worker ends with it."""
    clear_jobstate_env(monkeypatch)
    write_project(pytester)
    pytester.makepyfile(IN_FLIGHT_TESTS)
    result = run(
        pytester, f"--jobstate-celery={mode}", "--jobstate-redis=server", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=4)
