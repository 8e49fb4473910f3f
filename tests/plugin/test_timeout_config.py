"""The runner's timeout is checked where the plugin reads its options, from every source.

Before, ``--jobstate-timeout=abc`` failed each test that waited with a ``ValueError`` in
its fixture, ``0`` failed every wait at once, and ``inf`` let a lost job hang the run.
"""

from __future__ import annotations

import math
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import read_config, spelled
from pipeline.validation import MAX_SECONDS
from tests.plugin.user_project import run_here

WAITS = """
def test_waits(pytestconfig):
    from harness.config import get_config
    assert float(get_config(pytestconfig)["timeout"]) == {expected}
"""


class _NoOptions:
    """A run given no ``--jobstate-*`` flag nor ini option (whatever this run was given)."""

    def getoption(self, name: str, default: object = None) -> object:
        return default

    def getini(self, name: str) -> str:
        return ""


def _reads(text: str) -> float | None:
    """The timeout read from ``JOBSTATE_TIMEOUT=text``, or None when refused."""
    config = cast(pytest.Config, _NoOptions())
    refusal = ""
    try:
        return float(read_config(config, {"JOBSTATE_TIMEOUT": text})["timeout"])
    except pytest.UsageError as exc:
        refusal = str(exc)
    assert "JOBSTATE_TIMEOUT=" in refusal  # named as it was set
    assert "(from env)" in refusal
    return None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=12) | st.floats(allow_nan=True).map(str))
def test_any_timeout_text_is_a_positive_finite_number_or_a_usage_error(text: str) -> None:
    read = _reads(text)
    if not text:
        assert read == 60.0  # unset: the default
        return
    try:
        number = float(text)
    except ValueError:
        assert read is None
        return
    assert read == (number if math.isfinite(number) and 0 < number <= MAX_SECONDS else None)


@pytest.mark.parametrize(("text", "works"), [("0.001", True), ("0", False), ("-0.001", False)])
def test_the_bound_is_above_zero(text: str, works: bool) -> None:
    assert (_reads(text) is not None) is works


@pytest.mark.parametrize("where", ["cli", "env", "ini"])
def test_a_bad_timeout_stops_the_run_naming_its_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "ini":
        pytester.makeini("[pytest]\njobstate_timeout = inf\n")
    if where == "env":
        monkeypatch.setenv("JOBSTATE_TIMEOUT", "inf")
    pytester.makepyfile(WAITS.format(expected=60.0))
    result = run_here(pytester, *(["--jobstate-timeout=inf"] if where == "cli" else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*{spelled('timeout', where)}='inf' (from {where}) must be a number of seconds above 0*"]
    )


def test_a_good_timeout_reaches_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WAITS.format(expected=2.5))
    run_here(pytester, "--jobstate-timeout=2.5").assert_outcomes(passed=1)
