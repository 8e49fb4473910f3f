"""The report card as the terminal summary's lines (no pytest).

Compact: a verdict line, for an app with its own state one line per kind of bug looked
for, the matrix with faults down and stages across (a workflow has a few stages and the
audit a dozen faults, so this way it fits a terminal), one line per failing cell (its
reasons under it, each bug tagged with its kind) and per settings finding that fails, the
machine and the cost. Every
user-written value is shown through :func:`~harness.testing.audit.report.safe_text.one_line` and
clipped, so nothing a worker wrote can recolour, clear or flood the terminal.
"""

from __future__ import annotations

from harness.testing.audit.report import card_view as view
from harness.testing.audit.report.card import AuditCard
from harness.testing.audit.report.safe_text import clip, one_line

__all__ = ["render_text"]

NAME_WIDTH = 24
"""The widest a stage or fault name gets in the matrix before it is clipped."""
INDENT = "     "
"""Where a failing cell's reasons and a finding's reason and fix start."""
TEXT_WIDTH = 200
"""The longest a reason or finding is shown; the Markdown and HTML cards keep it whole."""


def _short(text: str, width: int = TEXT_WIDTH) -> str:
    return clip(one_line(text), width)


def _matrix(card: AuditCard) -> list[str]:
    grid = view.matrix(card)
    stages = [_short(stage, NAME_WIDTH) for stage in grid.stages]
    faults = [_short(fault, NAME_WIDTH) for fault in grid.faults]
    first = max([len("fault"), *map(len, faults)])
    widths = [max(len(stage), len("not run")) for stage in stages]
    lines = [_line(["fault", *stages], [first, *widths])]
    for fault, name in zip(grid.faults, faults, strict=True):
        words = [view.verdict_word(grid.cell(stage, fault)) for stage in grid.stages]
        lines.append(_line([name, *words], [first, *widths]))
    return lines


def _line(words: list[str], widths: list[int]) -> str:
    return "  ".join(w.ljust(n) for w, n in zip(words, widths, strict=True)).rstrip()


def _bugs(card: AuditCard) -> list[str]:
    if not view.has_bugs(card):
        return []
    counts = view.bugs_found(card)
    found = sum(1 for kind in counts if kind.cells)
    lines = [f"bugs found: {found} of the {len(counts)} kinds looked for"]
    for kind in counts:
        lines.append(f"{INDENT}{_short(kind.title)}: {_short(_found_in(kind))}")
    return lines


def _found_in(kind: view.BugCount) -> str:
    if not kind.cells:
        return "not found"
    count = len(kind.cells)
    names = ", ".join(cell.key for _, cell in kind.cells)
    return f"{count} cell{'s' if count != 1 else ''}: {names}"


def _reason(reason: view.Reason) -> str:
    tag = "" if reason.kind is None else f"[{_short(view.bug_tag(reason.kind), NAME_WIDTH)}] "
    return f"{INDENT}{tag}{_short(reason.text)}"


def _failing(card: AuditCard) -> list[str]:
    lines = []
    for _, cell in view.matrix(card).with_verdict("fail"):
        ended, took = view.cell_note(cell)
        name = _short(view.cell_name(cell), 2 * NAME_WIDTH)
        who = f"ended by {_short(ended, NAME_WIDTH)}" if cell.ended_by else ended
        lines.append(f"FAIL {name} ({who}, {took})")
        reasons = view.cell_reasons(cell) or [view.Reason("no reason recorded")]
        lines += [_reason(reason) for reason in reasons]
        if cell.sampled:
            lines.append(f"{INDENT}store sampled: {_short(cell.sampled)}")
    return lines


def _findings(card: AuditCard) -> list[str]:
    lines = []
    for finding in view.findings_in_order(card):
        if not finding.failing:
            continue
        lines.append(f"FAIL setting {_short(finding.check, NAME_WIDTH)}: {_short(finding.title)}")
        lines.append(f"{INDENT}{_short(finding.reason)}")
        if finding.fix:
            lines.append(f"{INDENT}add: {_short(finding.fix)}")
    return lines


def render_text(card: AuditCard) -> list[str]:
    """The terminal summary of the card, one string per line (the caller adds where the
    card was written)."""
    verdict = "PASS" if card.passed else "FAIL"
    head = (
        f"jobstate audit {verdict}: {_short(card.app, 2 * NAME_WIDTH)}, "
        f"{view.counts_line(card)} in {view.seconds(card.seconds)}"
    )
    adapter = [_short(view.adapter_line(card))] if card.adapter else []
    tail = [
        f"machine: {_short(view.machine_line(card.machine, card.adapter))}",
        f"cost: {view.cost(card.cells).line}",
    ]
    body = [*_bugs(card), *_matrix(card), *_failing(card), *_findings(card)]
    return [head, *adapter, *body, *tail]
