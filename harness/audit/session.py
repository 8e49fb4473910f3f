"""The audit run: collect :mod:`harness.audit.cells` instead of the user's tests, gather the
cells, findings and machine result from the reports, and hand out the report card.

The card is printed at the end of the run and written as ``audit.json``, ``audit.md`` and
``audit.html`` under ``test-results/`` in the rootdir. The run's exit code is pytest's: a
red cell, a settings error or a counterexample fails the run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.audit import cells
from harness.audit.card import AuditCard, Cell, Finding, MachineResult
from harness.audit.scenarios import FAULTS
from harness.audit.selection import (
    CELL_PROPERTY,
    FINDINGS_PROPERTY,
    MACHINE_PROPERTY,
    audit_selection,
)
from harness.fixtures.chaos import RESULTS_DIR

__all__ = ["AuditRun", "start_audit"]


def start_audit(config: pytest.Config) -> None:
    """Make this run the audit: its tests are the cells, its end the report card.

    The user's tests are not collected, so nothing else puts the rootdir on ``sys.path``:
    the audit does, as ``python -m pytest`` would, to import the app its workers import.
    """
    root = str(config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)
    audit_selection(config)  # a bad app or name stops the run before anything starts
    config.args[:] = [str(Path(cells.__file__))]
    config.pluginmanager.register(AuditRun(config), "jobstate-audit")


class AuditRun:
    """Collects the audit's results from reports (pytest-xdist sends them to the controller)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.cells: list[Cell] = []
        self.findings: list[Finding] = []
        self.machine: MachineResult | None = None
        self._params: dict[str, tuple[str, str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Remember which stage and fault each cell test plants; drop the cell tests that
        plant nothing (every fault they take was left out of the audit)."""
        empty = []
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            stage, fault_id = params.get("stage"), params.get("fault_id")
            if isinstance(stage, str) and isinstance(fault_id, str):
                self._params[item.nodeid] = (stage, fault_id)
            elif "fault_id" in getattr(item, "fixturenames", ()):
                empty.append(item)
        if empty:
            items[:] = [item for item in items if item not in empty]
            self.config.hook.pytest_deselected(items=empty)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the cell, findings or machine result a report carries; a cell that could
        not even start (its setup failed) is a red cell with that error."""
        for name, value in report.user_properties if report.when == "call" else ():
            if not isinstance(value, str):
                continue
            if name == CELL_PROPERTY:
                self.cells.append(Cell(**json.loads(value)))
            elif name == FINDINGS_PROPERTY:
                self.findings = [Finding(**data) for data in json.loads(value)]
            elif name == MACHINE_PROPERTY:
                self.machine = MachineResult(**json.loads(value))
        planted = self._params.get(report.nodeid)
        if report.when == "setup" and report.failed and planted is not None:
            reason = report.longreprtext.strip().splitlines()[-1:] or ["setup failed"]
            self.cells.append(Cell(*planted, "fail", reasons=reason, test=report.nodeid))

    def card(self) -> AuditCard:
        """The report card of what has run so far."""
        selection = audit_selection(self.config)
        order = {fault.id: i for i, fault in enumerate(FAULTS)}
        stages = {stage: i for i, stage in enumerate(selection.stages)}
        ranked = sorted(self.cells, key=lambda c: (order.get(c.fault, 99), stages.get(c.stage, 99)))
        return AuditCard(
            app=selection.target,
            workflow=selection.workflow.name,
            stages=list(selection.stages),
            faults={f.id: f.label for f in FAULTS if f.id in selection.faults},
            cells=ranked,
            findings=self.findings,
            machine=self.machine,
            seconds=round(time.monotonic() - self.started, 1),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the card and write it to ``test-results/`` (never on an xdist worker)."""
        if hasattr(self.config, "workerinput"):
            return
        from harness.audit.render import render_text, write_card

        card = self.card()
        terminalreporter.write_sep("=", "jobstate audit report card")
        for line in render_text(card):
            terminalreporter.write_line(line)
        paths = write_card(card, Path(self.config.rootpath) / RESULTS_DIR)
        terminalreporter.write_line(f"written: {', '.join(str(p) for p in paths)}")
