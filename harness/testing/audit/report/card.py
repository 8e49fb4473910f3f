"""The audit's report card as data: cells, settings findings, the machine's result (no pytest).

One model, rendered as JSON, Markdown, terminal text and an HTML page
(:mod:`harness.testing.audit.report.render`). Everything a user's app or its workers
wrote (error texts, history entries, stage names) travels here as plain data and is
rendered as text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "BUG_KINDS",
    "CARD_VERSION",
    "AuditCard",
    "Cell",
    "Finding",
    "MachineResult",
    "Severity",
    "Verdict",
]

CARD_VERSION = 1
"""Bumped when the JSON shape changes in a way a reader must know about."""

Verdict = Literal["pass", "fail", "n/a"]
"""A cell's verdict: ``n/a`` when the fault cannot be planted here (the reason says why)."""

Severity = Literal["error", "warning", "info"]
"""How much a settings finding matters: an ``error`` that is not ``ok`` fails the audit."""


BUG_KINDS = {
    "inconsistent-updates": "state updates disagree between processes",
    "lost-at-handoff": "transitions lost at task hand-offs",
    "ui-not-truth": "the UI/API shows something other than the stored truth",
    "errors-not-propagated": "errors never reach the state",
}
"""The four kinds of state bug the audit names on an app with its own state."""


@dataclass
class Cell:
    """One stage under one fault: what happened to its job(s) and whether state stayed honest.

    ``ended_by`` says who wrote the job's terminal status: ``stage`` (the stage itself),
    ``parent`` (the worker's parent process, for a lost child or a hard time limit),
    ``redelivery`` (the stage ran again and completed), ``sweep`` (the stale sweep), ``new
    worker`` (another worker finished the job), or ``""`` when nothing ended it.
    ``evidence`` maps each job id to its durable history (the entries the store keeps).
    """

    stage: str
    fault: str
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    ended_by: str = ""
    final_status: str | None = None
    seconds: float = 0.0
    jobs: list[str] = field(default_factory=list)
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    test: str = ""
    """The command that replays this cell alone."""
    bugs: list[dict[str, str]] = field(default_factory=list)
    """For an app with its own state: each finding as ``{kind, finding, way_over}``, where
    ``kind`` is one of :data:`BUG_KINDS` and ``way_over`` what our store does instead."""
    sampled: str = ""
    """For an app with its own state: how often its store was read during the cell."""

    @property
    def key(self) -> str:
        """``STAGE/fault``: the cell's name in the card and in anchors."""
        return f"{self.stage}/{self.fault}"


@dataclass
class Finding:
    """One check of the app's Celery settings.

    ``check`` is a stable id (``visibility-timeout``); ``reason`` says what goes wrong
    with the current value; ``fix`` is the line to add to the app (empty when ``ok``).
    """

    check: str
    ok: bool
    severity: Severity
    title: str
    reason: str
    fix: str = ""
    task: str = ""
    """The task the finding is about, when it is about one (``""`` for the whole app)."""

    @property
    def failing(self) -> bool:
        """True when this finding fails the audit (an ``error`` that is not ``ok``)."""
        return not self.ok and self.severity == "error"


@dataclass
class MachineResult:
    """The state machine's run over the app on real workers.

    ``counterexample`` is a replayable test (Python source) when the machine found one.
    ``seed`` fixes what the machine drew: the same seed draws the same runs
    (``--jobstate-audit-seed``); None on a card written before it was recorded.
    """

    ran: bool
    ok: bool = True
    examples: int = 0
    steps: int = 0
    reason: str = ""
    counterexample: str | None = None
    seed: int | None = None


@dataclass
class AuditCard:
    """The whole audit: which app, its stages by faults, the settings, the machine.

    ``adapter`` names the adapter (``module:Class``) of an app that keeps its own job state,
    empty for an app on our tracker; its machine runs through the adapter
    (:mod:`harness.testing.audit.foreign.machine`).
    """

    app: str
    workflow: str
    stages: list[str]
    faults: dict[str, str]
    """Fault id -> what it does, in the order the card shows them."""
    cells: list[Cell] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    machine: MachineResult | None = None
    seconds: float = 0.0
    version: int = CARD_VERSION
    adapter: str = ""

    @property
    def passed(self) -> bool:
        """True when no cell failed, no error finding stands and the machine found nothing."""
        cells_ok = all(cell.verdict != "fail" for cell in self.cells)
        machine_ok = self.machine is None or self.machine.ok
        return cells_ok and machine_ok and not any(f.failing for f in self.findings)

    def cell(self, stage: str, fault: str) -> Cell | None:
        """The cell of ``stage`` under ``fault``, if it ran."""
        return next((c for c in self.cells if (c.stage, c.fault) == (stage, fault)), None)

    def to_json(self) -> dict[str, Any]:
        """The card as JSON-ready data (the shape ``audit.json`` holds)."""
        return asdict(self)

    def dumps(self) -> str:
        """The card as JSON text."""
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditCard:
        """Rebuild a card from :meth:`to_json`'s data (a card written before a field was
        added reads back with that field's default)."""
        machine = data.get("machine")
        return cls(
            app=data["app"],
            workflow=data["workflow"],
            stages=list(data["stages"]),
            faults=dict(data["faults"]),
            cells=[Cell(**cell) for cell in data.get("cells", [])],
            findings=[Finding(**finding) for finding in data.get("findings", [])],
            machine=MachineResult(**machine) if machine else None,
            seconds=float(data.get("seconds", 0.0)),
            version=int(data.get("version", CARD_VERSION)),
            adapter=str(data.get("adapter", "")),
        )
