"""A user's ``filterwarnings = error`` stays green with our fixtures, and only our noise is
quieted: the same warnings raised by the user's own code still fail."""

from __future__ import annotations

import _pytest.deprecated
import pytest

from tests.plugin.user_project import clear_jobstate_env, run, run_here, write_project

STRICT = "filterwarnings = error\n"

FIXTURE_TESTS = """
import mine


def test_job(job_runner, state_recorder, fault_injector):
    fault_injector.fail_at("WORK")
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "FAILED", timeout=60)["error"].startswith("WORK:")
    job_runner.retry(job_id)
    assert job_runner.wait_for(job_id, "DONE", timeout=60)
    state_recorder.assert_all_legal()
"""

RESULT_TEST = """

def test_a_result_stored_by_celerys_redis_backend(jobstate_worker):
    # Celery's Redis result backend stores it with redis-py's deprecated setex().
    assert mine.add.delay(2, 3).get(timeout=30) == 5
"""

# The text redis-py's deprecation decorator gives setex() (``Call to deprecated {name}.``):
# raised here by the test itself, so the proof does not hang on whether the installed
# redis-py still deprecates setex.
SETEX_TEXT = "Call to deprecated setex."

OWN_SETEX_TEST = f"""
import warnings


def test_own_deprecated_call(redis_client):
    redis_client.set("mine-key", "value", ex=10)
    warnings.warn({SETEX_TEXT!r}, DeprecationWarning, stacklevel=1)
"""

CELERYS_SETEX_TEST = f"""
import warnings


def test_celerys_deprecated_call(redis_client):
    # The warning as Celery's Redis result backend raises it: from celery.backends.redis.
    warnings.warn_explicit(
        {SETEX_TEXT!r}, DeprecationWarning, "redis.py", 1, module="celery.backends.redis"
    )
"""

# pytest 9.2's text for pytest-playwright's base_url fixture (older pytest says nothing).
INSTANCE_FIXTURE = getattr(_pytest.deprecated, "CLASS_FIXTURE_INSTANCE_METHOD", None)
# pytest keeps the text as ``template`` (an UnformattedWarning) or, in older releases, as
# ``message``; without either the fallback is the text pytest 9.2 prints.
_KEPT = getattr(INSTANCE_FIXTURE, "template", None) or getattr(INSTANCE_FIXTURE, "message", None)
INSTANCE_FIXTURE_TEXT = (
    _KEPT
    if isinstance(_KEPT, str)
    else "{scope}-scoped fixtures defined as instance methods are deprecated.\n"
    "Instance attributes set in the {fixturename!r} fixture will NOT be visible to test "
    "methods,\nas each test gets a new instance while the fixture runs only once per class.\n"
    "Use a @classmethod decorator below @pytest.fixture and set attributes on cls instead.\n"
    "See https://docs.pytest.org/en/stable/deprecations.html"
    "#class-scoped-fixture-as-instance-method"
)

PLAYWRIGHT_CONFTEST = f"""
import warnings

import pytest

TEXT = {INSTANCE_FIXTURE_TEXT!r}


@pytest.fixture
def warns_like_playwrights_base_url():
    text = TEXT.format(scope="Session", fixturename="base_url")
    warnings.warn(pytest.PytestRemovedIn10Warning(text), stacklevel=1)


@pytest.fixture
def warns_for_another_fixture():
    text = TEXT.format(scope="Session", fixturename="mine")
    warnings.warn(pytest.PytestRemovedIn10Warning(text), stacklevel=1)
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` variable of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


def test_eager_fixtures_raise_no_third_party_warning(pytester: pytest.Pytester) -> None:
    write_project(pytester, STRICT)
    pytester.makepyfile(FIXTURE_TESTS)
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.integration
def test_a_thread_worker_raises_no_third_party_warning(pytester: pytest.Pytester) -> None:
    write_project(pytester, STRICT)
    pytester.makepyfile(FIXTURE_TESTS + RESULT_TEST)
    result = run(pytester, "--jobstate-celery=thread", "--jobstate-redis=server")
    result.assert_outcomes(passed=2)


def test_the_users_own_deprecated_calls_still_fail(pytester: pytest.Pytester) -> None:
    write_project(pytester, STRICT)
    pytester.makepyfile(OWN_SETEX_TEST)
    result = run_here(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DeprecationWarning: Call to deprecated setex*"])


def test_the_same_warning_from_celerys_backend_is_quieted(pytester: pytest.Pytester) -> None:
    write_project(pytester, STRICT)
    pytester.makepyfile(CELERYS_SETEX_TEST)
    run_here(pytester).assert_outcomes(passed=1)


def test_only_playwrights_base_url_instance_fixture_is_quieted(pytester: pytest.Pytester) -> None:
    write_project(pytester, STRICT)
    pytester.makeconftest(PLAYWRIGHT_CONFTEST)
    pytester.makepyfile(
        "def test_base_url(warns_like_playwrights_base_url):\n    pass\n\n\n"
        "def test_other(warns_for_another_fixture):\n    pass\n"
    )
    result = run_here(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*PytestRemovedIn10Warning: Session-scoped*", "ERROR *::test_other"]
    )
