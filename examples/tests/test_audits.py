"""Both versions of the resizer through ``pytest --jobstate-audit``, as a user runs it.

The tracked version (``resizer``) must come out green; the naive one (``naive_resizer``,
its own state read through ``naive_resizer.audit:NaiveAdapter``) must come out red, with
each of its bugs found in a cell that names its kind. Each audit runs in a fresh pytest
process in a copy of this project (its card is written there), on the faults that show
the bugs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
FAULTS = "exception,duplicate-delivery,worker-killed"


def _audit(tmp_path: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """Run the audit in a copy of this project; its exit code, card and output."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("test-results", "__pycache__"))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--jobstate-audit"]
    run = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [*command, f"--jobstate-audit-faults={FAULTS}", *options],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    card = json.loads((copy / "test-results" / "audit.json").read_text(encoding="utf-8"))
    return run.returncode, card, run.stdout + run.stderr


def _kinds(card: dict[str, Any], stage: str, fault: str) -> set[str]:
    cell = next(c for c in card["cells"] if (c["stage"], c["fault"]) == (stage, fault))
    return {bug["kind"] for bug in cell["bugs"]}


def test_the_tracked_resizer_is_green(tmp_path: Path) -> None:
    code, card, output = _audit(tmp_path)
    assert code == 0, output[-3000:]
    assert [c["verdict"] for c in card["cells"]] == ["pass"] * 6, output[-3000:]


@pytest.mark.parametrize(
    ("stage", "fault", "kind"),
    [
        # bug 2: upload catches and logs every exception
        ("UPLOADING", "exception", "errors-not-propagated"),
        # no bug of its own: resize's error never reaches the record either
        ("RESIZING", "exception", "errors-not-propagated"),
        # bug 1: a second run of resize writes its whole record over a later status
        ("RESIZING", "duplicate-delivery", "inconsistent-updates"),
        # bug 3: resize hands off before it writes; lost in between, the job stays RESIZING
        ("RESIZING", "worker-killed", "lost-at-handoff"),
        # bug 4: the API's five-second cache
        ("UPLOADING", "duplicate-delivery", "ui-not-truth"),
    ],
)
def test_the_naive_resizer_shows_each_bug_in_its_cell(
    naive_card: dict[str, Any], stage: str, fault: str, kind: str
) -> None:
    cells = json.dumps(naive_card["cells"], indent=1)[:4000]
    assert kind in _kinds(naive_card, stage, fault), cells


@pytest.fixture(scope="module")
def naive_card(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Module: the naive resizer's audit card (the audit exits 1: it is red)."""
    code, card, output = _audit(
        tmp_path_factory.mktemp("naive"),
        "-o",
        "jobstate_app=naive_resizer.app:app",
        "-o",
        "jobstate_adapter=naive_resizer.audit:NaiveAdapter",
    )
    assert code == 1, output[-3000:]
    assert card["adapter"] == "naive_resizer.audit:NaiveAdapter"
    return card


def test_the_naive_resizers_state_machine_finds_a_failing_run(naive_card: dict[str, Any]) -> None:
    machine = naive_card["machine"]
    assert machine["ran"]
    assert not machine["ok"]
    assert re.search(r"state\.(first_job|submit)", machine["counterexample"])
