"""``jobstate audit --app`` runs the audit from anywhere: no pytest settings of the user's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit import user_apps
from tests.plugin.user_project import clear_jobstate_env, write_module

pytestmark = pytest.mark.prefork


def test_the_cli_audits_an_app_it_is_named_and_passes_pytest_the_rest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "mine", user_apps.SWALLOWING)
    jobstate = shutil.which("jobstate", path=str(Path(sys.executable).parent))
    assert jobstate is not None
    done = subprocess.run(
        [jobstate, "audit", "--app", "mine:app", "--stages", "COUNTING", "--faults",
         "exception", "-k", "fault_at", "-p", "no:cacheprovider"],
        cwd=pytester.path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(pytester.path)},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    card = json.loads((pytester.path / "test-results" / "audit.json").read_text("utf-8"))
    assert card["app"] == "mine:app"
    assert [(c["stage"], c["fault"], c["verdict"]) for c in card["cells"]] == [
        ("COUNTING", "exception", "fail")
    ]
    assert "jobstate audit FAIL" in done.stdout


def test_the_cli_names_the_adapter_of_an_app_with_its_own_state(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "mine", user_apps.HONEST)
    jobstate = shutil.which("jobstate", path=str(Path(sys.executable).parent))
    assert jobstate is not None
    done = subprocess.run(
        [jobstate, "audit", "--app", "mine:app", "--adapter", "mine:NoSuchAdapter",
         "-p", "no:cacheprovider"],
        cwd=pytester.path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(pytester.path)},
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "jobstate_adapter='mine:NoSuchAdapter': mine has no 'NoSuchAdapter'" in done.stderr
