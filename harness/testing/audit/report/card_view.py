"""What every rendering of a card shows, decided once (no pytest).

The matrix's rows and columns, the words of each cell, which cells failed and where
their evidence sits, the bugs found on an app with its own state, the columns of a job's
history and the per-cell cost. The Markdown, terminal and HTML renderers only lay these
out.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.testing.audit.report.card import BUG_KINDS, AuditCard, Cell, Finding, MachineResult

__all__ = [
    "HISTORY_COLUMNS",
    "OWN_STATE_MACHINE",
    "TIMES",
    "BugCount",
    "Cost",
    "Matrix",
    "Reason",
    "adapter_line",
    "anchor",
    "bug_tag",
    "bug_title",
    "bugs_found",
    "cell_name",
    "cell_note",
    "cell_reasons",
    "cost",
    "cost_by_fault",
    "counts_line",
    "evidence_columns",
    "finding_word",
    "findings_in_order",
    "has_bugs",
    "machine_line",
    "machine_verdict",
    "matrix",
    "seconds",
    "unique",
    "value_text",
    "verdict_word",
]

HISTORY_COLUMNS = (
    "version",
    "at",
    "source",
    "kind",
    "from",
    "status",
    "attempt",
    "message",
    "error",
    "result",
    "task_id",
)
"""A history entry's fields in the order a timeline shows them; unknown fields follow.

``source`` and ``result`` are an app with its own state's: its sampled timeline says who
was read (its store, Celery's log, its API) and whether a result was held."""

OWN_STATE_MACHINE = "its test was left out of this run"
"""Why an own-state card has no state machine: its test was deselected (``-k``)."""

TIMES = "\u00d7"
"""The sign between a stage and a fault (multiplication sign)."""

# The stream id and the epoch milliseconds repeat ``at``: shown only when it is absent.
_REPEATS_AT = ("id", "ms")
_VERDICT_WORDS = {"pass": "pass", "fail": "FAIL", "n/a": "n/a"}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Matrix:
    """The stages (rows) by faults (columns) grid; a cell is ``None`` when it did not run.

    Rows and columns are the card's own, then any stage or fault that only a cell names
    (so no cell is ever left out of the picture).
    """

    stages: list[str]
    faults: list[str]
    labels: dict[str, str]
    cells: dict[tuple[str, str], tuple[int, Cell]]

    def at(self, stage: str, fault: str) -> tuple[int, Cell] | None:
        """The cell of ``stage`` under ``fault`` and its index in the card, if it ran."""
        return self.cells.get((stage, fault))

    def cell(self, stage: str, fault: str) -> Cell | None:
        """The cell of ``stage`` under ``fault``, if it ran."""
        found = self.cells.get((stage, fault))
        return found[1] if found else None

    def in_order(self) -> list[tuple[int, Cell]]:
        """Every cell that ran, row by row, as ``(index in the card, cell)``."""
        found = (self.at(stage, fault) for stage in self.stages for fault in self.faults)
        return [entry for entry in found if entry is not None]

    def with_verdict(self, verdict: str) -> list[tuple[int, Cell]]:
        """The cells with this verdict, row by row."""
        return [(i, c) for i, c in self.in_order() if c.verdict == verdict]


def unique(names: Iterable[str]) -> list[str]:
    """The names in order, each once."""
    return list(dict.fromkeys(names))


def matrix(card: AuditCard) -> Matrix:
    """The card's grid of stages by faults."""
    cells = {(c.stage, c.fault): (i, c) for i, c in reversed(list(enumerate(card.cells)))}
    stages = unique([*card.stages, *(c.stage for c in card.cells)])
    faults = unique([*card.faults, *(c.fault for c in card.cells)])
    return Matrix(stages, faults, dict(card.faults), cells)


def anchor(index: int, prefix: str = "cell") -> str:
    """The id of a cell's section: by its index, so no user text reaches a URL."""
    return f"{prefix}-{index + 1}"


def cell_name(cell: Cell) -> str:
    """The stage, the sign, the fault: how the card names a cell to a reader."""
    return f"{cell.stage} {TIMES} {cell.fault}"


def verdict_word(cell: Cell | None) -> str:
    """``pass``, ``FAIL``, ``n/a`` or ``not run``."""
    return "not run" if cell is None else _VERDICT_WORDS.get(cell.verdict, cell.verdict)


def seconds(value: float) -> str:
    """A duration as the card writes it: ``0.42 s``, ``3.1 s``, ``75 s``."""
    if value < 1:
        return f"{value:.2f} s"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def cell_note(cell: Cell) -> tuple[str, str]:
    """Who ended the cell's job (``not ended`` when nothing did) and how long the cell
    took; both empty for ``n/a``."""
    if cell.verdict == "n/a":
        return ("", "")
    return (cell.ended_by or "not ended", seconds(cell.seconds))


def counts_line(card: AuditCard) -> str:
    """``47 pass, 1 FAIL, 0 n/a`` for the card's cells."""
    counts = Counter(cell.verdict for cell in card.cells)
    return ", ".join(f"{counts[v]} {_VERDICT_WORDS[v]}" for v in ("pass", "fail", "n/a"))


def finding_word(finding: Finding) -> str:
    """``ok``, ``FAIL`` (an error that stands), ``warning`` or ``info``."""
    if finding.ok:
        return "ok"
    return "FAIL" if finding.failing else finding.severity


def findings_in_order(card: AuditCard) -> list[Finding]:
    """Findings that stand first (errors, then warnings, then notes), then those that pass."""
    return sorted(card.findings, key=lambda f: (f.ok, _SEVERITY_RANK.get(f.severity, 3)))


def machine_verdict(machine: MachineResult | None, adapter: str = "") -> tuple[str, str]:
    """The state machine's run as a word (``not run``, ``ok``, ``FAIL``) and what it did;
    on a card with an ``adapter`` and no machine, why it did not run."""
    if machine is None and adapter:
        return ("not run", OWN_STATE_MACHINE)
    if machine is None or not machine.ran:
        return ("not run", machine.reason if machine else "")
    size = f"{machine.examples} examples, {machine.steps} steps"
    if machine.seed is not None:
        size += f", seed {machine.seed}"
    if machine.ok:
        return ("ok", size)
    return ("FAIL", f"{size}: {machine.reason}" if machine.reason else size)


def machine_line(machine: MachineResult | None, adapter: str = "") -> str:
    """One line on the state machine's run: ``ok, 25 examples, 412 steps``, or ``not run
    (why)``."""
    word, detail = machine_verdict(machine, adapter)
    if not detail:
        return word
    return f"{word} ({detail})" if word == "not run" else f"{word}, {detail}"


def adapter_line(card: AuditCard) -> str:
    """Whose state the audit read: empty for an app on our tracker."""
    if not card.adapter:
        return ""
    return f"The app keeps its own job state, read through the adapter {card.adapter}"


def bug_title(kind: str) -> str:
    """A bug kind's title (:data:`BUG_KINDS`); a kind the card does not know, as written."""
    return BUG_KINDS.get(kind, kind)


def bug_tag(kind: str) -> str:
    """A bug kind as a short tag: ``errors not propagated``."""
    return kind.replace("-", " ") if kind in BUG_KINDS else kind


def has_bugs(card: AuditCard) -> bool:
    """True when any cell names a bug (only an app with its own state's cells do)."""
    return any(cell.bugs for cell in card.cells)


@dataclass(frozen=True)
class BugCount:
    """One kind of bug and the cells (with their index in the card) that found it."""

    kind: str
    cells: list[tuple[int, Cell]]

    @property
    def title(self) -> str:
        """The kind's title."""
        return bug_title(self.kind)


def bugs_found(card: AuditCard) -> list[BugCount]:
    """Every kind of :data:`BUG_KINDS` in order, found or not (so a reader sees all were
    looked for), then any other kind a cell names; each with its cells, row by row, once."""
    found: dict[str, list[tuple[int, Cell]]] = {kind: [] for kind in BUG_KINDS}
    for index, cell in matrix(card).in_order():
        for kind in unique(bug.get("kind", "") for bug in cell.bugs):
            found.setdefault(kind, []).append((index, cell))
    return [BugCount(kind, cells) for kind, cells in found.items()]


@dataclass(frozen=True)
class Reason:
    """One reason a cell failed; for a named bug, its kind and what our store does instead."""

    text: str
    kind: str | None = None
    way_over: str = ""

    @property
    def title(self) -> str:
        """The bug kind's title, empty for a reason that names no bug."""
        return "" if self.kind is None else bug_title(self.kind)


def _bug_reason(bug: dict[str, str]) -> Reason:
    return Reason(bug.get("finding", ""), bug.get("kind", ""), bug.get("way_over", ""))


def cell_reasons(cell: Cell) -> list[Reason]:
    """The cell's reasons in order, each paired with the bug whose finding it is; then any
    bug whose finding is not among the reasons (so no bug goes unshown)."""
    # A bug's finding is also one of the reasons: shown once, with its kind.
    left = list(cell.bugs)
    reasons = []
    for text in cell.reasons:
        bug = next((b for b in left if b.get("finding") == text), None)
        if bug is not None:
            left.remove(bug)
        reasons.append(Reason(text) if bug is None else _bug_reason(bug))
    return reasons + [_bug_reason(bug) for bug in left]


def evidence_columns(entries: Iterable[dict[str, Any]]) -> list[str]:
    """The columns of a job's history: the known fields present, in timeline order, then
    any other field in the order first seen (``id`` and ``ms`` only without ``at``)."""
    seen = unique(key for entry in entries for key in entry)
    known = [k for k in HISTORY_COLUMNS if k in seen]
    others = [k for k in seen if k not in HISTORY_COLUMNS]
    if "at" in known:
        others = [k for k in others if k not in _REPEATS_AT]
    return known + others


def value_text(value: Any) -> str:
    """A history value as text: strings as written, ``None`` as blank, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Cost:
    """What the cells that ran cost: their count, total, median and slowest."""

    cells: int
    total: float
    median: float
    max: float
    slowest: Cell | None

    @property
    def line(self) -> str:
        """``48 cells in 39 s: median 0.62 s, max 3.1 s per cell``."""
        if not self.cells:
            return "no cell ran"
        return (
            f"{self.cells} cells in {seconds(self.total)}: median {seconds(self.median)}, "
            f"max {seconds(self.max)} per cell"
        )


def cost(cells: Iterable[Cell]) -> Cost:
    """The cost of the cells that ran (``n/a`` cells planted nothing and are left out)."""
    ran = [cell for cell in cells if cell.verdict != "n/a"]
    if not ran:
        return Cost(0, 0.0, 0.0, 0.0, None)
    times = [cell.seconds for cell in ran]
    slowest = max(ran, key=lambda cell: cell.seconds)
    return Cost(len(ran), sum(times), statistics.median(times), max(times), slowest)


def cost_by_fault(card: AuditCard) -> list[tuple[str, Cost]]:
    """Each fault's cost over the stages, in the matrix's column order."""
    grid = matrix(card)
    return [(f, cost(c for c in card.cells if c.fault == f)) for f in grid.faults]
