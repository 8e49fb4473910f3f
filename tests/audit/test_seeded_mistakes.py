"""The audit finds the mistakes we seed into a user's app, each in its own cell or finding.

Each test writes a small user project (:mod:`tests.audit.apps`), runs
``pytest --jobstate-audit`` on it in a subprocess, as a user would, and reads the report
card it wrote. The honest app's card is green on the same cells, so a red cell is the
mistake's doing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.audit import user_apps as apps
from tests.plugin.user_project import clear_jobstate_env, run, write_module

pytestmark = [pytest.mark.prefork, pytest.mark.usefixtures("clear_environment")]


@pytest.fixture
def clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no JOBSTATE_* variable of ours leaks into the user's run."""
    clear_jobstate_env(monkeypatch)


def audit(pytester: pytest.Pytester, source: str, *args: str) -> tuple[int, dict[str, Any]]:
    """Audit the app ``source`` (as module ``mine``); the exit code and the card's JSON."""
    write_module(pytester.path, "mine", source)
    pytester.makeini("[pytest]\njobstate_app = mine:app\n")
    result = run(pytester, "--jobstate-audit", *args)
    card = pytester.path / "test-results" / "audit.json"
    assert card.exists(), result.stdout.str()
    return result.ret, json.loads(card.read_text(encoding="utf-8"))


def cell(card: dict[str, Any], stage: str, fault: str) -> dict[str, Any]:
    """The card's cell for ``stage`` under ``fault``."""
    found = [c for c in card["cells"] if (c["stage"], c["fault"]) == (stage, fault)]
    assert len(found) == 1, card["cells"]
    return found[0]


@pytest.mark.parametrize("fault", ["exception", "unreadable-error"])
def test_a_stage_that_swallows_every_exception_turns_its_cell_red(
    pytester: pytest.Pytester, fault: str
) -> None:
    code, card = audit(
        pytester,
        apps.SWALLOWING,
        f"--jobstate-audit-faults={fault}",
        "-k",
        "test_fault_at_stage",
    )
    assert code == 1
    swallowed = cell(card, "COUNTING", fault)
    assert swallowed["verdict"] == "fail"
    assert swallowed["final_status"] == "DONE"
    assert any("swallowed the error" in reason for reason in swallowed["reasons"])
    assert cell(card, "PREPARING", fault)["verdict"] == "pass"  # the honest stage


@pytest.mark.parametrize("fault", ["exception", "unreadable-error"])
def test_the_honest_app_passes_the_same_cells(pytester: pytest.Pytester, fault: str) -> None:
    code, card = audit(
        pytester, apps.HONEST, f"--jobstate-audit-faults={fault}", "-k", "test_fault_at_stage"
    )
    assert code == 0, card
    for stage in ("PREPARING", "COUNTING"):
        honest = cell(card, stage, fault)
        assert honest["verdict"] == "pass", honest
        assert honest["final_status"] == "FAILED"
        assert honest["ended_by"] == "stage"


@pytest.mark.parametrize(
    ("source", "check", "tasks"),
    [
        (apps.NO_LATE_ACKS, "acks-late", {"mine.count"}),
        (apps.SHORT_VISIBILITY, "visibility-timeout", {"mine.prepare", "mine.count"}),
        (apps.OTHER_QUEUE, "queue", {"mine.count"}),
    ],
    ids=["no-late-acks", "short-visibility-timeout", "another-queue"],
)
def test_a_settings_mistake_turns_its_finding_red(
    pytester: pytest.Pytester, source: str, check: str, tasks: set[str]
) -> None:
    code, card = audit(pytester, source, "-k", "test_celery_settings")
    assert code == 1
    red = [f for f in card["findings"] if not f["ok"]]
    assert {f["check"] for f in red} == {check}, red
    assert {f["task"] for f in red} == tasks, red
    assert all(f["severity"] == "error" and f["fix"] for f in red)


def test_the_honest_apps_settings_are_green(pytester: pytest.Pytester) -> None:
    code, card = audit(pytester, apps.HONEST, "-k", "test_celery_settings")
    assert code == 0, card
    assert card["findings"]
    assert all(f["ok"] for f in card["findings"]), card["findings"]
