"""The audit's state machine draws from its seed, and from nothing else.

Every audit machine (ours over a tracked app, the one over an app that keeps its own
state) runs through ``run_machine``, which takes the seed. Two audits of one app with one
seed must draw the same runs, whatever ran before them in the process, whatever global
seed pytest gave Hypothesis; only what the app's workers do may change the verdict.
"""

from __future__ import annotations

import argparse
import random
from typing import ClassVar

import hypothesis.core
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from harness.fixtures.audit.selection import _seed
from harness.testing.audit.machine import DEFAULT_SEED, MACHINE_SETTINGS, run_machine
from harness.testing.audit.report.card import MachineResult
from harness.testing.audit.report.card_view import machine_line

ROUNDS = settings(MACHINE_SETTINGS, max_examples=6, stateful_step_count=6)


class Drawing(RuleBasedStateMachine):
    """A machine that only notes what it drew, in the order it drew it."""

    drawn: ClassVar[list[tuple[str, int]]] = []

    @rule(n=st.integers(0, 10**6))
    def left(self, n: int) -> None:
        type(self).drawn.append(("left", n))

    @rule(n=st.integers(0, 10**6))
    def right(self, n: int) -> None:
        type(self).drawn.append(("right", n))


def _draws(draw_seed: int) -> tuple[list[tuple[str, int]], MachineResult]:
    machine = type("Drawing", (Drawing,), {"drawn": []})
    result = run_machine(machine, ROUNDS, __name__, "_draws", draw_seed)
    return list(machine.drawn), result


def test_the_same_seed_draws_the_same_runs_whatever_ran_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, result = _draws(DEFAULT_SEED)
    assert first, "the machine drew nothing"
    assert result.ok
    assert result.seed == DEFAULT_SEED
    # What a test run before it may leave behind: the global random's state, another
    # machine's draws, a --hypothesis-seed.
    random.seed(99)
    _draws(DEFAULT_SEED + 1)
    monkeypatch.setattr(hypothesis.core, "global_force_seed", 12345)
    again, _ = _draws(DEFAULT_SEED)
    assert again == first


def test_another_seed_draws_other_runs() -> None:
    runs = {seed: tuple(_draws(seed)[0]) for seed in range(4)}
    assert len(set(runs.values())) == len(runs), "two seeds drew the same runs"


class Failing(RuleBasedStateMachine):
    @rule(n=st.integers(0, 100))
    def step(self, n: int) -> None:
        assert n < 50, f"drew {n}"


def test_a_failing_run_says_which_seed_draws_it_again() -> None:
    result = run_machine(Failing, ROUNDS, "tests.audit.test_machine_seed", "run_machine", 7)
    assert not result.ok
    assert result.seed == 7
    assert result.counterexample is not None
    assert "--jobstate-audit-seed=7" in result.counterexample
    assert "state = Failing()" in result.counterexample  # the machine's own name
    assert machine_line(result).startswith("FAIL, 6 examples, 6 steps, seed 7: ")


def test_a_card_written_before_seeds_were_recorded_shows_none() -> None:
    assert machine_line(MachineResult(ran=True, examples=4, steps=8)) == "ok, 4 examples, 8 steps"


@pytest.mark.parametrize(("text", "seed"), [("0", 0), (" 12 ", 12), (str(2**64), 2**64)])
def test_a_seed_is_a_whole_number_from_zero(text: str, seed: int) -> None:
    assert _seed(text) == seed


@pytest.mark.parametrize(
    ("text", "named"),
    [("-1", "-1 is negative"), ("x1", "'x1' is not a whole number"), ("", "'' is not")],
)
def test_any_other_seed_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=named):
        _seed(text)


def test_jobstate_audit_passes_its_seed_to_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from click.testing import CliRunner

    from pipeline.cli import cli

    commands: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda command: commands.append(command) or 0)
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "--app", "a:app", "--seed", "3"]).exit_code == 0
    assert runner.invoke(cli, ["audit", "--app", "a:app"]).exit_code == 0
    assert "--jobstate-audit-seed=3" in commands[0]
    assert not any(arg.startswith("--jobstate-audit-seed") for arg in commands[1])
    refused = runner.invoke(cli, ["audit", "--app", "a:app", "--seed", "-1"])
    assert refused.exit_code == 2
    assert "--seed" in refused.output
    assert len(commands) == 2
