"""The README's plugin reference names every option, marker, fixture, strategy and variable."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

import harness.machines
import harness.strategies
from harness.config import OPTIONS
from harness.plugin import MARKERS
from pipeline.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _named(name: str) -> bool:
    """``name`` in code (```name``, ```pkg.name``, ```name(...)``) somewhere in the README."""
    return re.search(rf"`([\w.]+\.)?{re.escape(name)}\b", README) is not None


def test_every_option_has_its_flag_env_and_ini_key() -> None:
    missing = [
        name
        for opt in OPTIONS
        for name in (opt.flag, opt.env, opt.ini)
        if not re.search(rf"`{re.escape(name)}`", README)
    ]
    assert missing == []


def test_every_marker_is_listed() -> None:
    names = [re.split(r"[(:]", m)[0] for m in MARKERS]
    assert [n for n in names if not _named(n)] == []


def test_every_settings_variable_is_listed() -> None:
    names = [f"JOBSTATE_{f.name.upper()}" for f in fields(Settings) if f.name != "extra"]
    assert [n for n in names if not _named(n)] == []


def test_every_strategy_and_the_machine_base_are_listed() -> None:
    public = [*harness.strategies.__all__, *harness.machines.__all__]
    documented_elsewhere = {"JOB_POOL", "JobModel", "StoreFactory"}
    assert [n for n in public if n not in documented_elsewhere and not _named(n)] == []


def test_every_plugin_fixture_is_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    ours, names = False, []
    for line in result.stdout.lines:
        if line.startswith("---"):
            # Deprecated names are listed in CHANGELOG.md, not in the README.
            ours = "fixtures defined from harness." in line and "deprecated" not in line
        elif ours and re.match(r"^\w+( \[\w+ scope\])? -- ", line):
            names.append(line.split()[0])
    assert len(names) > 20, result.stdout.str()
    assert [n for n in names if not _named(n)] == []
