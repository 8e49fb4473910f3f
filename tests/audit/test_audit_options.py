"""The audit's flags: a bad stage, fault or app stops the run at once with one clear line."""

from __future__ import annotations

import pytest

from tests.audit import user_apps
from tests.plugin.user_project import clear_jobstate_env, run_here, write_module


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Function: a user project whose app is the honest two-stage ``mine``."""
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "mine", user_apps.HONEST)
    pytester.makeini("[pytest]\njobstate_app = mine:app\n")
    return pytester


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            "--jobstate-audit-faults=exception,meteor",
            "--jobstate-audit-faults: unknown faults meteor; known: exception, "
            "unreadable-error, system-exit, time-limit, child-killed, worker-killed, "
            "warm-shutdown, cold-shutdown, duplicate-delivery, redis-restart, redis-outage, "
            "cut-off",
        ),
        (
            "--jobstate-audit-stages=COUNTING,SLEEPING",
            "--jobstate-audit-stages: unknown stages SLEEPING; known: PREPARING, COUNTING",
        ),
    ],
    ids=["fault", "stage"],
)
def test_an_unknown_name_is_a_usage_error_listing_the_known_ones(
    project: pytest.Pytester, flag: str, message: str
) -> None:
    result = run_here(project, "--jobstate-audit", flag)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


@pytest.mark.parametrize("seed", ["-1", "one"])
def test_a_seed_that_is_not_a_whole_number_from_zero_is_a_usage_error(
    project: pytest.Pytester, seed: str
) -> None:
    result = run_here(project, "--jobstate-audit", f"--jobstate-audit-seed={seed}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument --jobstate-audit-seed: *{seed}*"])


def test_a_typo_in_the_app_is_one_error_before_anything_starts(
    project: pytest.Pytester,
) -> None:
    result = run_here(project, "--jobstate-audit", "-o", "jobstate_app=mine:ap")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.lines
    assert "jobstate audit:" in errors[0]
    assert "mine:ap" in errors[0]


def test_the_narrowed_audit_collects_only_the_chosen_cells(project: pytest.Pytester) -> None:
    result = run_here(
        project,
        "--jobstate-audit",
        "--jobstate-audit-stages=COUNTING",
        "--jobstate-audit-faults=exception,time-limit,cut-off",
        "--collect-only",
        "-q",
    )
    assert result.ret == pytest.ExitCode.OK
    ids = {line.split("::", 1)[1] for line in result.stdout.lines if "::" in line}
    assert ids == {
        "test_fault_at_stage[COUNTING-exception]",
        "TestTimeLimit::test_fault_at_stage[COUNTING-time-limit]",
        "TestCutOff::test_fault_at_stage[COUNTING-cut-off]",
        "test_celery_settings",
        "test_state_machine",
    }


ADAPTERS = """
from harness.adapter import StateAdapter
from pipeline import Workflow

FLOW = Workflow.linear("mine", stages={"PREPARING": "Preparing", "COUNTING": "Counting"})


class Good(StateAdapter):
    workflow = FLOW
    stage_tasks = {"PREPARING": "mine.prepare", "COUNTING": "mine.count"}


class WrongStage(StateAdapter):
    workflow = FLOW
    stage_tasks = {"SLEEPING": "mine.sleep"}


class NoWorkflow(StateAdapter):
    stage_tasks = {"COUNTING": "mine.count"}


NotAnAdapter = object
"""


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ("adapters:Gone", "jobstate_adapter='adapters:Gone': adapters has no 'Gone'"),
        ("adapters:NotAnAdapter", "is not a subclass of harness.adapter.StateAdapter"),
        ("adapters:NoWorkflow", "set workflow to a pipeline Workflow"),
        ("adapters:WrongStage", "stage_tasks names SLEEPING, not running statuses"),
    ],
    ids=["missing", "not-an-adapter", "no-workflow", "wrong-stage"],
)
def test_a_bad_adapter_is_one_usage_error_naming_what_to_fix(
    project: pytest.Pytester, adapter: str, message: str
) -> None:
    write_module(project.path, "adapters", ADAPTERS)
    result = run_here(project, "--jobstate-audit", "-o", f"jobstate_adapter={adapter}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.lines
    assert message in errors[0]


def test_an_adapters_stages_are_the_ones_its_tasks_run(project: pytest.Pytester) -> None:
    write_module(project.path, "adapters", ADAPTERS)
    result = run_here(
        project,
        "--jobstate-audit",
        "-o",
        "jobstate_adapter=adapters:Good",
        "--jobstate-audit-stages=COUNTING,SLEEPING",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --jobstate-audit-stages: unknown stages SLEEPING; known: PREPARING, COUNTING"]
    )


def test_the_header_says_what_the_audit_runs_on(project: pytest.Pytester) -> None:
    """The redis= and celery= settings shown are not what the cells use: the header says."""
    result = run_here(project, "--jobstate-audit", "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "jobstate: redis=*",
            "jobstate audit: its cells run on a redis-server the plugin starts and on "
            "prefork workers, whatever redis= and celery= say",
        ]
    )
