"""Errors always reach the state: whatever a stage raises, the job ends in the error status
naming the stage, for an app built with ``create_app`` and for one built as the README shows.

Slips these catch: describing the error raises (``str(exc)`` on a hostile exception) so the
failure is never written; ``except Exception`` missing ``SystemExit``; the parent's
``task_failure`` handler matching the task by identity (Celery sends the registered task,
the tracker holds lazy proxies) so a lost child is never written; the first line of a
message taken even when it is blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.tracking import sanitise_error
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.guarantees.apps import FLOW, BadStr, NonStr

BASE = "http://127.0.0.1:9/"


@dataclass(frozen=True)
class App:
    """An app under test, its workflow and the stage a job meets first."""

    target: str
    workflow: Workflow

    @property
    def first(self) -> str:
        return self.workflow.stages[0]

    @property
    def done(self) -> str:
        return self.workflow.happy_path()[-1]


README = App("tests.guarantees.apps:readme_app", FLOW)
PRD = App("tests.guarantees.apps:prd_app", PRD_WORKFLOW)


@pytest.fixture(params=[README, PRD], ids=["readme-app", "create-app"])
def app_case(request: pytest.FixtureRequest) -> App:
    """Function: the app under test (overridden per test by indirect parametrisation)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def jobstate_app_target(app_case: App) -> str:
    """Function: the app target of this case."""
    return app_case.target


@pytest.fixture
def jobstate_workflow(app_case: App) -> Workflow:
    """Function: the workflow of this case's app."""
    return app_case.workflow


# -- describing an error never raises --------------------------------------------------------


def test_an_exception_whose_str_raises_is_named_by_its_type() -> None:
    assert sanitise_error(BadStr()) == "BadStr: (its message could not be read)"


def test_an_exception_whose_str_returns_no_text_is_named_by_its_type() -> None:
    assert sanitise_error(NonStr()) == "NonStr: (its message could not be read)"


def test_the_first_non_empty_line_is_the_message() -> None:
    assert sanitise_error(ValueError("\n\n  \nreal message\nmore")) == "ValueError: real message"


def test_an_empty_message_leaves_the_type() -> None:
    assert sanitise_error(KeyError()) == "KeyError"


def test_a_huge_message_is_cut_to_the_error_limit() -> None:
    text = sanitise_error(RuntimeError("x" * 10_000_000))
    assert text.startswith("RuntimeError: xxx")
    assert len(text) == 300


def test_credentials_in_a_message_are_hidden() -> None:
    text = sanitise_error(OSError("GET https://bob:hunter2@host/a failed"))
    assert "hunter2" not in text
    assert "https://***@host/a" in text


# -- a failing stage always ends in the error status (eager and real workers) ---------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("raise-badstr", "BadStr: (its message could not be read)"),
        ("raise-nonstr", "NonStr: (its message could not be read)"),
        ("raise-blank", "ValueError: the real message"),
    ],
)
def test_a_stage_error_ends_in_the_error_status_naming_the_stage(
    app_case: App,
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    path: str,
    expected: str,
) -> None:
    job_id = job_runner.submit(BASE + path)
    record = job_runner.wait_for(job_id, app_case.workflow.error, timeout=60)
    assert record["error"] == f"{app_case.first}: {expected}"
    wf = app_case.workflow
    state_recorder.assert_path(job_id, [wf.initial, app_case.first, wf.error])
    state_recorder.assert_all_legal()


def test_the_happy_path_still_completes(
    app_case: App, job_runner: JobRunner, state_recorder: StateRecorder
) -> None:
    job_id = job_runner.submit(BASE + "ok")
    record = job_runner.wait_for(job_id, app_case.done, timeout=60)
    assert record["result"]["ran"] == app_case.workflow.stages[-1]
    state_recorder.assert_path(job_id, app_case.workflow.happy_path())
