"""``jobstate audit`` hands the plugin the app and adapter it names as the plugin's own
flags, so nothing else the plugin reads (a variable, the project's ini) outranks them."""

from __future__ import annotations

import os
import sys

import pytest

from tests.audit import user_apps
from tests.plugin.user_project import clear_jobstate_env, write_module

pytestmark = pytest.mark.backend_free


def _pytest_command(argv: list[str], env: dict[str, str]) -> list[str]:
    """The pytest command line ``jobstate audit <argv>`` runs under ``env`` (not run)."""
    from unittest import mock

    from pipeline.cli import main

    started: list[list[str]] = []

    def call(command: list[str], *args: object, **kwargs: object) -> int:
        started.append(command)
        return 0

    with (
        mock.patch.dict(os.environ, env),
        mock.patch.object(sys, "argv", ["jobstate", "audit", *argv]),
        mock.patch("subprocess.call", call),
        pytest.raises(SystemExit),
    ):
        main()
    (command,) = started
    return command[command.index("pytest") + 1 :]


def test_the_app_the_cli_names_is_the_one_audited_whatever_the_environment_says(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``JOBSTATE_APP=theirs:app jobstate audit --app mine:app`` audits ``mine:app``: the
    command's value reaches the plugin above every other source (a variable left in the
    environment, the project's ini), and the plugin's header says it came from the command
    line. It went as an ini override, which the variable outranks: ``theirs:app`` was
    audited."""
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "mine", user_apps.HONEST)
    write_module(pytester.path, "theirs", user_apps.HONEST)
    pytester.makeini("[pytest]\njobstate_app = theirs:app\n")
    args = _pytest_command(["--app", "mine:app"], {"JOBSTATE_APP": "theirs:app"})
    monkeypatch.setenv("JOBSTATE_APP", "theirs:app")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    header = pytester.runpytest_subprocess(
        *[a for a in args if a != "--jobstate-audit"], "--co", "-p", "no:cacheprovider"
    ).stdout.str()
    assert "app=mine:app (cli" in header, header


def test_the_adapter_the_cli_names_goes_as_the_plugins_flag_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Typed or from ``JOBSTATE_ADAPTER``, the adapter the command resolved is the flag
    the plugin ranks first."""
    clear_jobstate_env(monkeypatch)
    typed = _pytest_command(
        ["--app", "mine:app", "--adapter", "mine:Adapter"], {"JOBSTATE_ADAPTER": "theirs:A"}
    )
    assert "--jobstate-adapter=mine:Adapter" in typed
    assert not any("theirs" in arg for arg in typed)
    from_env = _pytest_command(["--app", "mine:app"], {"JOBSTATE_ADAPTER": "theirs:A"})
    assert "--jobstate-adapter=theirs:A" in from_env
    assert "-o" not in typed + from_env


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--stages", "COUNTING,SAVING"], "--jobstate-audit-stages=COUNTING,SAVING"),
        (["--faults", "exception"], "--jobstate-audit-faults=exception"),
        (["--seed", "0"], "--jobstate-audit-seed=0"),
        (["--seed", "7"], "--jobstate-audit-seed=7"),
    ],
)
def test_what_the_cli_narrows_the_audit_to_reaches_the_plugin(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], flag: str
) -> None:
    """``--stages``, ``--faults`` and ``--seed`` go to the plugin as its flags (a seed of 0
    too: a project's ``addopts`` may set another)."""
    clear_jobstate_env(monkeypatch)
    assert flag in _pytest_command(["--app", "mine:app", *argv], {})
