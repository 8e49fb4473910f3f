"""The chaos summary: scenarios name themselves, their jobs are counted, the run ends with a table.

A test names its scenario and the faults it injects with the ``chaos_scenario`` fixture.
Right after the test body returns, every job the test's state recorder saw (and every job
tracked by hand) is judged from the store (:mod:`harness.chaos_tally`): jobs, terminal,
stuck, illegal transitions, lost results. A stuck, illegal or lost job fails the test
that produced it. At the end of the run the table is printed and written as markdown and
JSON to ``test-results/`` under the rootdir (:mod:`harness.chaos_report`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from harness.chaos_report import ScenarioRow, text_table, write_summary
from harness.chaos_tally import Tally, tally_jobs
from harness.recorder import StateRecorder

__all__ = [
    "RESULTS_DIR",
    "ChaosCheckFailed",
    "ChaosScenario",
    "ChaosSummary",
    "StartScenario",
    "chaos_scenario",
]

RESULTS_DIR = "test-results"
"""Folder under the rootdir that receives ``chaos-summary.md`` and ``chaos-summary.json``."""

PROPERTY = "jobstate_chaos"
_SCENARIO = pytest.StashKey["ChaosScenario"]()


class ChaosCheckFailed(AssertionError):
    """A chaos scenario left a job stuck, an illegal transition or a lost result."""


class ChaosScenario:
    """One test's scenario: its name, the faults it injected and the jobs it judges.

    Jobs submitted through ``job_runner`` (or seen by the recorder) are included already;
    :meth:`track` adds others. :meth:`fault` adds a fault decided during the test;
    :meth:`figure` attaches a measured figure (printed under the table, never asserted).
    """

    def __init__(
        self,
        name: str,
        faults: list[str] | str,
        recorder: StateRecorder,
        *,
        expect_result: bool = True,
    ) -> None:
        self.name = name
        self.faults = [faults] if isinstance(faults, str) else list(faults)
        self.recorder = recorder
        self.expect_result = expect_result
        self.figures: dict[str, Any] = {}

    def track(self, job_id: str) -> str:
        """Include ``job_id`` in the count (returns it, for chaining)."""
        self.recorder.track(job_id)
        return job_id

    def fault(self, description: str) -> None:
        """Name one more fault this scenario injected."""
        self.faults.append(description)

    def figure(self, name: str, value: Any) -> None:
        """Attach a measured figure (JSON-serialisable) to the scenario's summary row."""
        self.figures[name] = value

    def tally(self) -> Tally:
        """Judge every job of the scenario now."""
        return tally_jobs(
            self.recorder.store, self.recorder.jobs(), expect_result=self.expect_result
        )

    def row(self, tally: Tally, test: str = "") -> ScenarioRow:
        """The summary row for ``tally``."""
        return ScenarioRow(
            self.name,
            list(self.faults),
            tally.jobs,
            tally.terminal,
            tally.stuck,
            tally.illegal,
            tally.lost,
            test=test,
            problems=list(tally.problems),
            figures=dict(self.figures),
        )


StartScenario = Callable[..., ChaosScenario]
"""What ``chaos_scenario`` yields: ``start(name, faults, expect_result=True)``."""


@pytest.fixture
def chaos_scenario(request: pytest.FixtureRequest, state_recorder: StateRecorder) -> StartScenario:
    """Function: name this test's chaos scenario; its jobs join the run's summary table.

    ``scenario = chaos_scenario(name, faults, expect_result=True)`` returns a
    :class:`ChaosScenario`: ``name`` is the table's scenario column, ``faults`` (a string
    or a list) what is injected; ``expect_result=False`` when the workflow's final status
    carries no result. Jobs the ``state_recorder`` sees (everything ``job_runner``
    submits) are counted; ``scenario.track(job_id)`` adds others. Once per test.

    After the test body returns, each job is judged (terminal, stuck, illegal
    transitions, lost results); any stuck, illegal or lost job fails the test with the
    reasons and the recorder's timeline. Nothing to tear down.
    """

    def start(name: str, faults: list[str] | str, expect_result: bool = True) -> ChaosScenario:
        if _SCENARIO in request.node.stash:
            raise pytest.UsageError("chaos_scenario: one scenario per test")
        scenario = ChaosScenario(name, faults, state_recorder, expect_result=expect_result)
        request.node.stash[_SCENARIO] = scenario
        return scenario

    return start


def _judge(item: pytest.Item, scenario: ChaosScenario) -> ScenarioRow:
    """Tally the scenario and put its row on the item (it travels with the report)."""
    try:
        row = scenario.row(scenario.tally(), item.nodeid)
    except Exception as exc:
        item.user_properties.append(
            (PROPERTY, ScenarioRow(scenario.name, scenario.faults, 0, 0, 0, 0, 0).to_json())
        )
        raise ChaosCheckFailed(
            f"chaos scenario {scenario.name!r} could not be judged: {exc}"
        ) from exc
    item.user_properties.append((PROPERTY, row.to_json()))
    return row


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Judge the test's chaos scenario once its body returns; fail it if anything is off."""
    try:
        result = yield
    except BaseException:
        scenario = item.stash.get(_SCENARIO, None)
        if scenario is not None:
            with contextlib.suppress(ChaosCheckFailed):  # the test's own failure comes first
                _judge(item, scenario)
        raise
    scenario = item.stash.get(_SCENARIO, None)
    if scenario is None:
        return result
    row = _judge(item, scenario)
    if not row.clean:
        reasons = "\n".join(row.problems)
        raise ChaosCheckFailed(
            f"chaos scenario {scenario.name!r}: {row.stuck} stuck, {row.illegal} illegal, "
            f"{row.lost} lost of {row.jobs} jobs\n{reasons}\n{scenario.recorder.timeline()}"
        )
    return result


class ChaosSummary:
    """The run's summary: collects rows from reports, prints and writes the table."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._rows: list[tuple[tuple[str, int, str], ScenarioRow]] = []

    @property
    def rows(self) -> list[ScenarioRow]:
        """The rows in the order the tests are written (file, line, test id), whatever
        order they ran in: random order and pytest-xdist give the same table."""
        return [row for _, row in sorted(self._rows, key=lambda pair: pair[0])]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect rows from call reports (pytest-xdist sends them to the controller)."""
        if report.when == "call":
            path, line, _ = report.location
            self._rows += [
                (
                    (path, line if line is not None else -1, report.nodeid),
                    ScenarioRow.from_json(value),
                )
                for name, value in report.user_properties
                if name == PROPERTY and isinstance(value, dict)
            ]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the table and write it to ``test-results/`` (never on an xdist worker)."""
        rows = self.rows
        if not rows or hasattr(self.config, "workerinput"):
            return
        terminalreporter.write_sep("=", "jobstate chaos summary")
        for line in text_table(rows):
            terminalreporter.write_line(line)
        paths = write_summary(rows, Path(self.config.rootpath) / RESULTS_DIR)
        terminalreporter.write_line(f"written: {', '.join(str(p) for p in paths)}")


def pytest_configure(config: pytest.Config) -> None:
    """Register this run's :class:`ChaosSummary`."""
    config.pluginmanager.register(ChaosSummary(config), "jobstate-chaos-summary")
