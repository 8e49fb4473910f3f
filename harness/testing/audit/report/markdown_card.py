"""The report card as Markdown: ``audit.md`` (no pytest).

Every user-written value passes
:func:`~harness.testing.audit.report.safe_text.md_inline` (tables, headings, list items)
or :func:`~harness.testing.audit.report.safe_text.md_fence` (settings lines, the
machine's counterexample), so no value can add a column, a line or a link. The only
links are the card's own: from the bugs found to each failing cell's anchor, named by its
index as on the HTML page.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.testing.audit.report import card_view as view
from harness.testing.audit.report.card import AuditCard, Cell, Finding
from harness.testing.audit.report.safe_text import md_fence, md_inline

__all__ = ["render_markdown"]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0) -> list[str]:
    """A table; ``head`` is escaped here, ``rows`` must already be; the last ``numeric``
    columns are right-aligned."""
    align = ["---"] * (len(head) - numeric) + ["---:"] * numeric
    return [_row([md_inline(h) for h in head]), _row(align), *(_row(r) for r in rows)]


def _matrix_cell(cell: Cell | None) -> str:
    word = view.verdict_word(cell)
    if cell is None or cell.verdict == "n/a":
        return word
    ended, took = view.cell_note(cell)
    word = f"**{word}**" if cell.verdict == "fail" else word
    return f"{word} · {md_inline(ended)} · {took}"


def _matrix(card: AuditCard) -> list[str]:
    grid = view.matrix(card)
    rows = [
        [md_inline(stage), *(_matrix_cell(grid.cell(stage, f)) for f in grid.faults)]
        for stage in grid.stages
    ]
    legend = [f"- {md_inline(f)}: {md_inline(grid.labels.get(f, ''))}" for f in grid.faults]
    title = f"## Stages {view.TIMES} faults"
    return [title, "", *_table(["stage", *grid.faults], rows), "", *legend]


def _history(job: str, entries: list[dict[str, object]]) -> list[str]:
    columns = view.evidence_columns(entries)
    rows = [[md_inline(view.value_text(e.get(c))) for c in columns] for e in entries]
    head = [f"#### Job {md_inline(job)}", ""]
    if not entries:
        return [*head, "No history was kept for this job.", ""]
    return [*head, *_table(columns, rows), ""]


def _cell_link(index: int, cell: Cell) -> str:
    # Only a failing cell has an anchor; a bug is only ever in a failing one.
    name = md_inline(cell.key)
    return f"[{name}](#{view.anchor(index)})" if cell.verdict == "fail" else name


def _bug_row(found: view.BugCount) -> list[str]:
    count = len(found.cells)
    where = ", ".join(_cell_link(i, c) for i, c in found.cells)
    return [
        f"{md_inline(found.title)} ({md_inline(found.kind)})",
        str(count) if count else "not found",
        where or "no cell found it",
    ]


def _bugs(card: AuditCard) -> list[str]:
    if not view.has_bugs(card):
        return []
    rows = [_bug_row(found) for found in view.bugs_found(card)]
    return ["## Bugs found", "", *_table(["bug", "cells", "found in"], rows), ""]


def _reason(reason: view.Reason) -> list[str]:
    if reason.kind is None:
        return [f"- {md_inline(reason.text)}"]
    item = f"- **{md_inline(reason.title)}**: {md_inline(reason.text)}"
    if not reason.way_over:
        return [item]
    return [item, f"  - what our store does instead: {md_inline(reason.way_over)}"]


def _failing_cell(index: int, cell: Cell) -> list[str]:
    took = view.cell_note(cell)[1]
    facts = f"FAIL after {took}, ended by {md_inline(cell.ended_by or 'nothing')}"
    if cell.final_status is not None:
        facts += f", final status {md_inline(cell.final_status)}"
    anchor = f'<a id="{view.anchor(index)}"></a>'
    lines = [anchor, "", f"### {md_inline(view.cell_name(cell))}", "", facts + "."]
    if cell.test:
        lines += ["", f"Test: {md_inline(cell.test)}"]
    if cell.sampled:
        lines += ["", f"Store sampled: {md_inline(cell.sampled)}"]
    reasons = [line for reason in view.cell_reasons(cell) for line in _reason(reason)]
    lines += ["", *reasons, ""]
    jobs = view.unique([*cell.jobs, *cell.evidence])
    for job in jobs:
        lines += _history(job, cell.evidence.get(job, []))
    return lines


def _failing(card: AuditCard) -> list[str]:
    failing = view.matrix(card).with_verdict("fail")
    if not failing:
        return ["## Failing cells", "", "None: every cell that ran kept its job state honest.", ""]
    return ["## Failing cells", "", *(line for i, c in failing for line in _failing_cell(i, c))]


def _not_planted(card: AuditCard) -> list[str]:
    cells = view.matrix(card).with_verdict("n/a")
    if not cells:
        return []
    items = [
        f"- {md_inline(view.cell_name(c))}: {md_inline('; '.join(c.reasons))}" for _, c in cells
    ]
    return ["## Not planted (n/a)", "", *items, ""]


def _finding(finding: Finding) -> list[str]:
    about = f" (task {md_inline(finding.task)})" if finding.task else ""
    word = view.finding_word(finding)
    lines = [
        f"### {word}: {md_inline(finding.title)}",
        "",
        f"Check {md_inline(finding.check)}, severity {finding.severity}{about}.",
        "",
        md_inline(finding.reason),
        "",
    ]
    if finding.fix:
        lines += ["Add:", "", *md_fence(finding.fix, "python"), ""]
    return lines


def _settings(card: AuditCard) -> list[str]:
    findings = view.findings_in_order(card)
    body = [line for f in findings for line in _finding(f)]
    return ["## Settings", "", *(body or ["No settings were checked.", ""])]


def _machine(card: AuditCard) -> list[str]:
    line = view.machine_line(card.machine, card.adapter)
    lines = ["## State machine", "", md_inline(line), ""]
    example = card.machine.counterexample if card.machine else None
    if example is not None:
        lines += ["Counterexample (a test that replays it):", "", *md_fence(example, "python")]
        lines += [""]
    return lines


def _cost(card: AuditCard) -> list[str]:
    total = view.cost(card.cells)
    slowest = total.slowest
    where = f" (slowest: {md_inline(view.cell_name(slowest))})" if slowest else ""
    rows = [
        [md_inline(fault), str(c.cells), view.seconds(c.median), view.seconds(c.max)]
        for fault, c in view.cost_by_fault(card)
        if c.cells
    ]
    table = _table(["fault", "cells", "median", "max"], rows, numeric=3) if rows else []
    return ["## Cost", "", f"{total.line}{where}.", "", *table, ""]


def render_markdown(card: AuditCard) -> str:
    """The card as a Markdown document: verdict, the bugs found (an app with its own
    state), matrix, failing cells with their reasons and their jobs' histories, settings
    findings with their fixes, the state machine, the cost."""
    verdict = "PASS" if card.passed else "FAIL"
    grid = view.matrix(card)
    summary = (
        f"App {md_inline(card.app)}, workflow {md_inline(card.workflow)}: "
        f"{len(grid.stages)} stages {view.TIMES} {len(grid.faults)} faults, "
        f"{view.counts_line(card)}, {view.seconds(card.seconds)}."
    )
    adapter = view.adapter_line(card)
    if adapter:
        summary += f" {md_inline(adapter)}."
    parts = [
        [f"# Job-state audit: {verdict}", "", summary, ""],
        _bugs(card),
        _matrix(card),
        [""],
        _failing(card),
        _not_planted(card),
        _settings(card),
        _machine(card),
        _cost(card),
    ]
    return "\n".join(line for part in parts for line in part).rstrip("\n") + "\n"
