"""Our fixtures live in our namespace: Celery's own pytest fixtures load beside them."""

from __future__ import annotations

import pytest

from tests.plugin.user_project import run_here

pytest_plugins = ["pytester"]


def test_old_names_still_work_and_warn_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import warnings

        def test_old(celery_app, jobstate_celery_app, celery_mode):
            assert celery_app is jobstate_celery_app
            assert celery_mode == "eager"

        def test_old_again(celery_app):
            assert celery_app.conf.task_always_eager
    """)
    # A process of its own: each old name warns once per process.
    result = pytester.runpytest_subprocess("-W", "default::DeprecationWarning", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*fixture celery_app is deprecated: use fixture jobstate_celery_app*"]
    )
    assert result.stdout.str().count("fixture celery_app is deprecated") == 1


def test_celerys_own_fixtures_win_their_names(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["celery.contrib.pytest"]\n')
    pytester.makepyfile("""
        def test_both(celery_app, jobstate_celery_app):
            assert celery_app is not jobstate_celery_app
            assert celery_app.main == "celery.tests"
            assert jobstate_celery_app.conf.task_always_eager
    """)
    result = run_here(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "deprecated" not in result.stdout.str()


def test_a_typo_in_jobstate_app_is_one_start_up_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        jobstate_app = pipeline.celery_ap:create_app
    """)
    pytester.makepyfile("""
        def test_one(job_runner): pass
        def test_two(job_runner): pass
    """)
    result = run_here(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert (
        "jobstate_app='pipeline.celery_ap:create_app': cannot import 'pipeline.celery_ap'" in text
    )
    assert "[set by ini; fix jobstate_app]" in text
    assert text.count("cannot import") == 1
    assert "Traceback" not in text


def test_not_jobstate_real_selects_the_eager_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_eager(job_runner): pass

        @pytest.mark.jobstate_celery("eager")
        def test_pinned_eager(job_runner): pass

        @pytest.mark.jobstate_celery("prefork")
        def test_prefork(job_runner): pass

        def test_no_celery(state_store): pass
    """)
    result = run_here(pytester, "-m", "not jobstate_real", "--collect-only", "-q")
    listed = [line.split("::")[-1] for line in result.stdout.lines if "::" in line]
    assert sorted(listed) == ["test_eager", "test_no_celery", "test_pinned_eager"]
