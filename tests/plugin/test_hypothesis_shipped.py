"""A project's tests run on Hypothesis as it ships, whatever other plugin tuned it.

schemathesis' pytest plugin, once installed, swaps Hypothesis' example printer for one
that prints nothing and quadruples its data buffer, process-wide. A property that failed
then reported ``test_x(x=,)``: the failure with its example hidden, in a tool whose
reports are the product. And the same tests generated other examples with schemathesis
installed than without, so a verdict depended on which plugins a machine had.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import core
from hypothesis.internal.conjecture import engine
from hypothesis.strategies._internal import collections
from hypothesis.vendor import pretty

from harness.testing.hypothesis_shipped import hypothesis_as_shipped, shipped_buffer_size
from tests.plugin.user_project import run_here

FAILS_AT_FIVE = """
from hypothesis import given, strategies as st
from hypothesis.internal.conjecture import engine


@given(x=st.integers())
def test_smallest_failure_shows(x):
    assert x < 5


def test_buffer_is_hypothesis_own():
    assert engine.BUFFER_SIZE == {size}
"""


class _SilentPrinter(pretty.RepresentationPrinter):
    """What schemathesis puts in Hypothesis' place: a printer that prints nothing."""

    def pretty(self, obj: object, *, cycle: bool = False) -> None:
        return None


@contextlib.contextmanager
def tuned_hypothesis() -> Iterator[tuple[Any, int]]:
    """Hypothesis tuned the way schemathesis tunes it, whether it is installed or not
    (inside the test's body: this very test runs on Hypothesis as shipped); undone after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "RepresentationPrinter", _SilentPrinter)
        for module in (core, engine, collections):
            patch.setattr(module, "BUFFER_SIZE", 32 * 1024, raising=False)
        yield _SilentPrinter, 32 * 1024


def _hypothesis_in_a_clean_interpreter() -> int:
    """``BUFFER_SIZE`` in an interpreter that imported Hypothesis and nothing else."""
    code = "from hypothesis.internal.conjecture import engine; print(engine.BUFFER_SIZE)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_the_shipped_buffer_size_is_what_a_clean_interpreter_has() -> None:
    assert shipped_buffer_size() == _hypothesis_in_a_clean_interpreter()


def test_a_failing_example_shows_and_the_buffer_is_hypothesis_own_under_a_tuning_plugin(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(FAILS_AT_FIVE.format(size=_hypothesis_in_a_clean_interpreter()))
    with tuned_hypothesis() as (printer, size):
        result = run_here(pytester)
        # What the tuning plugin set is back once the project's tests are done.
        assert (core.RepresentationPrinter, engine.BUFFER_SIZE) == (printer, size)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_smallest_failure_shows(*", "*x=5,*"])


def _fail_inside_shipped(seen: list[tuple[Any, int]]) -> None:
    with hypothesis_as_shipped():
        seen.append((core.RepresentationPrinter, collections.BUFFER_SIZE))
        raise RuntimeError("the test failed")


def test_the_tuned_state_is_put_back_even_when_the_test_raises() -> None:
    seen: list[tuple[Any, int]] = []
    with tuned_hypothesis() as (printer, size):
        with pytest.raises(RuntimeError):
            _fail_inside_shipped(seen)
        assert (core.RepresentationPrinter, collections.BUFFER_SIZE) == (printer, size)
    assert seen == [(pretty.RepresentationPrinter, shipped_buffer_size())]


def test_a_hypothesis_laid_out_otherwise_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # Slip: a newer Hypothesis that moved its printer would make every test error here.
    monkeypatch.delattr(core, "RepresentationPrinter")
    with hypothesis_as_shipped():
        assert not hasattr(core, "RepresentationPrinter")
        assert shipped_buffer_size() == engine.BUFFER_SIZE
    assert not hasattr(core, "RepresentationPrinter")
