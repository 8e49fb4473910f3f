"""The chaos summary table: one row per scenario, as text, markdown and JSON (no pytest).

Columns: scenario, faults injected, jobs, terminal, stuck, illegal transitions, lost
results. A row may carry figures (the load test's request latencies), listed under the
table. :func:`write_summary` writes ``chaos-summary.md`` and ``chaos-summary.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "SUMMARY_NAME",
    "ScenarioRow",
    "markdown_table",
    "text_table",
    "write_summary",
]

SUMMARY_NAME = "chaos-summary"
COLUMNS = (
    "scenario",
    "faults injected",
    "jobs",
    "terminal",
    "stuck",
    "illegal transitions",
    "lost results",
)


@dataclass
class ScenarioRow:
    """One scenario's line in the summary."""

    scenario: str
    faults: list[str]
    jobs: int
    terminal: int
    stuck: int
    illegal: int
    lost: int
    test: str = ""
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """True when nothing is stuck, illegal or lost."""
        return not (self.stuck or self.illegal or self.lost)

    def cells(self) -> list[str]:
        """The row's cells in :data:`COLUMNS` order."""
        counts = (self.jobs, self.terminal, self.stuck, self.illegal, self.lost)
        return [self.scenario, ", ".join(self.faults) or "none", *map(str, counts)]

    def to_json(self) -> dict[str, Any]:
        """A plain dict (also what travels from pytest-xdist workers in a report)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScenarioRow:
        """The row :meth:`to_json` described."""
        return cls(**dict(data))


def _widths(rows: Sequence[ScenarioRow]) -> list[int]:
    table = [list(COLUMNS), *(row.cells() for row in rows)]
    return [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [
        c.rjust(w) if i >= 2 else c.ljust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(padded).rstrip()


def _figure_lines(rows: Sequence[ScenarioRow]) -> list[str]:
    lines = []
    for row in rows:
        for name, value in row.figures.items():
            lines.append(f"{row.scenario}: {name} = {value}")
    return lines


def text_table(rows: Sequence[ScenarioRow]) -> list[str]:
    """The table as aligned plain-text lines (for the terminal), figures after it."""
    widths = _widths(rows)
    lines = [_line(COLUMNS, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row.cells(), widths) for row in rows]
    figures = _figure_lines(rows)
    return [*lines, *(["", *figures] if figures else [])]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[ScenarioRow]) -> str:
    """The table in markdown, figures as a list after it."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * 2 + "---:|" * 5]
    lines += ["| " + " | ".join(_md_cell(c) for c in row.cells()) + " |" for row in rows]
    figures = _figure_lines(rows)
    if figures:
        lines += ["", *(f"- {_md_cell(f)}" for f in figures)]
    return "\n".join(lines) + "\n"


def write_summary(rows: Sequence[ScenarioRow], folder: Path) -> list[Path]:
    """Write ``chaos-summary.md`` and ``chaos-summary.json`` to ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"{SUMMARY_NAME}.md"
    md.write_text("# Chaos summary\n\n" + markdown_table(rows), encoding="utf-8")
    data = {"columns": list(COLUMNS), "rows": [row.to_json() for row in rows]}
    js = folder / f"{SUMMARY_NAME}.json"
    js.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [md, js]
