"""The sections of the HTML card below the matrix (no pytest).

Each function returns one section built with :func:`~harness.testing.audit.report.html_gate.el`: the
bugs found on an app with its own state, the failing cells with their reasons (each bug
with its kind and what our store does instead) and their jobs' histories, the cells where a fault
could not be planted, the settings findings, the state machine, the cost.
"""

from __future__ import annotations

from typing import Any

from harness.testing.audit.report import card_view as view
from harness.testing.audit.report.card import AuditCard, Cell, Finding
from harness.testing.audit.report.html_gate import Markup, concat, el

__all__ = ["bugs", "cost", "failing", "machine", "not_planted", "settings"]

_FINDING_CLASSES = {"ok": "ok", "FAIL": "fail", "warning": "warn", "info": "info"}


def _badge(word: str, css: str) -> Markup:
    return el("span", word, class_=f"badge {css}")


def _section(anchor: str, title: str, *children: Markup | None) -> Markup:
    return el("section", el("h2", title), *children, class_="card", id=anchor)


def _timeline(job: str, entries: list[dict[str, Any]]) -> Markup:
    title = el("h4", "Job ", el("code", job), ": its history")
    if not entries:
        return concat(title, el("p", "No history was kept for this job.", class_="muted"))
    columns = view.evidence_columns(entries)
    head = el("tr", [el("th", column, scope="col") for column in columns])
    rows = [
        el(
            "tr",
            [el("td", view.value_text(entry.get(column))) for column in columns],
            class_="err" if entry.get("error") else "step",
        )
        for entry in entries
    ]
    table = el("table", el("thead", head), el("tbody", rows), class_="timeline")
    return concat(title, el("div", table, class_="scroll"))


def _facts(cell: Cell) -> Markup:
    facts = [("Ended by", cell.ended_by or "nothing"), ("Took", view.cell_note(cell)[1])]
    if cell.final_status is not None:
        facts.append(("Final status", cell.final_status))
    if cell.test:
        facts.append(("Test", cell.test))
    if cell.sampled:
        facts.append(("Store sampled", cell.sampled))
    pairs = [el("div", el("dt", name), el("dd", value)) for name, value in facts]
    return el("dl", pairs, class_="facts")


def _reason(reason: view.Reason) -> Markup:
    if reason.kind is None:
        return el("li", reason.text)
    instead = el("p", el("strong", "What our store does instead: "), reason.way_over)
    return el(
        "li",
        el("span", reason.title, class_="bug-kind"),
        " ",
        reason.text,
        el("div", instead, class_="way-over") if reason.way_over else None,
        class_="bug",
    )


def _failing_cell(index: int, cell: Cell, label: str) -> Markup:
    jobs = view.unique([*cell.jobs, *cell.evidence])
    reasons = view.cell_reasons(cell) or [view.Reason("no reason recorded")]
    return el(
        "article",
        el(
            "div",
            _badge("FAIL", "fail"),
            el("h3", view.cell_name(cell)),
            el("a", "back to the matrix", href="#matrix", class_="back"),
            class_="detail-head",
        ),
        el("p", label, class_="muted") if label else None,
        _facts(cell),
        el("h4", "Why it failed"),
        el("ul", [_reason(reason) for reason in reasons], class_="reasons"),
        [_timeline(job, cell.evidence.get(job, [])) for job in jobs],
        class_="card detail",
        id=view.anchor(index),
        data_testid=view.anchor(index),
    )


def _found_in(found: view.BugCount) -> Markup:
    # Only a failing cell has a section to link to; a bug is only ever in a failing one.
    links = [
        el("a", c.key, href=f"#{view.anchor(i)}") if c.verdict == "fail" else el("span", c.key)
        for i, c in found.cells
    ]
    return concat(*(concat(", " if n else None, link) for n, link in enumerate(links)))


def _bug_row(found: view.BugCount) -> Markup:
    count = len(found.cells)
    word = f"{count} cell{'s' if count != 1 else ''}" if count else "not found"
    return el(
        "tr",
        el("th", found.title, el("small", found.kind), scope="row"),
        el("td", _badge(word, "fail" if count else "ok")),
        el("td", _found_in(found) if count else "no cell found it"),
        class_="found" if count else "none",
    )


def bugs(card: AuditCard) -> Markup | None:
    """The kinds of state bug looked for on an app with its own state: each with how many
    cells found it and links to them (no bug anywhere: no section)."""
    if not view.has_bugs(card):
        return None
    head = el("tr", [el("th", h, scope="col") for h in ("bug", "cells", "found in")])
    rows = [_bug_row(found) for found in view.bugs_found(card)]
    table = el("table", el("thead", head), el("tbody", rows), class_="bugs")
    return el(
        "section",
        el("h2", "Bugs found"),
        el("div", table, class_="scroll"),
        class_="card",
        id="bugs",
        data_testid="bugs",
    )


def failing(card: AuditCard) -> Markup:
    """A section per failing cell: its reasons and its jobs' histories."""
    cells = view.matrix(card).with_verdict("fail")
    if not cells:
        none = el("p", "None: every cell that ran kept its job state honest.", class_="muted")
        return _section("failing", "Failing cells", none)
    return el(
        "section",
        el("h2", "Failing cells", class_="outside"),
        [_failing_cell(i, c, card.faults.get(c.fault, "")) for i, c in cells],
        id="failing",
    )


def not_planted(card: AuditCard) -> Markup | None:
    """The cells where the fault could not be planted, with why (none: no section)."""
    cells = view.matrix(card).with_verdict("n/a")
    if not cells:
        return None
    items = [
        el(
            "li",
            el("strong", view.cell_name(c)),
            ": ",
            "; ".join(c.reasons),
            id=view.anchor(i, "na"),
        )
        for i, c in cells
    ]
    return _section("not-planted", "Not planted (n/a)", el("ul", items, class_="plain"))


def _finding(finding: Finding) -> Markup:
    word = view.finding_word(finding)
    css = _FINDING_CLASSES.get(word, "info")
    meta = concat(el("code", finding.check), f" · {finding.severity}")
    if finding.task:
        meta = concat(meta, " · task ", el("code", finding.task))
    fix = concat(el("p", "Add:", class_="fix-label"), el("pre", el("code", finding.fix)))
    return el(
        "article",
        el("div", _badge(word, css), el("h3", finding.title), class_="finding-head"),
        el("p", meta, class_="meta"),
        el("p", finding.reason),
        fix if finding.fix else None,
        class_=f"finding {css}",
        data_testid="finding",
    )


def settings(card: AuditCard) -> Markup:
    """The settings findings, those that stand first, each with its reason and fix."""
    findings = [_finding(f) for f in view.findings_in_order(card)]
    if not findings:
        return _section("settings", "Settings", el("p", "No settings were checked."))
    return _section("settings", "Settings", el("div", findings, class_="findings"))


def machine(card: AuditCard) -> Markup:
    """The state machine's run and, when it found one, its counterexample."""
    result = card.machine
    word, detail = view.machine_verdict(result, card.adapter)
    css = {"not run": "na", "ok": "ok"}.get(word, "fail")
    example = result.counterexample if result else None
    replay = concat(
        el("p", "Counterexample, as a test that replays it:", class_="fix-label"),
        el("pre", el("code", example), data_testid="counterexample"),
    )
    return _section(
        "machine",
        "State machine",
        el("p", _badge(word, css), " ", detail, class_="machine-line", data_testid="machine"),
        replay if example is not None else None,
    )


def cost(card: AuditCard) -> Markup:
    """What the cells cost: the totals, then the median and slowest cell of each fault."""
    total = view.cost(card.cells)
    where = f" (slowest: {view.cell_name(total.slowest)})" if total.slowest else ""
    head = el("tr", [el("th", h, scope="col") for h in ("fault", "cells", "median", "max")])
    rows = [
        el(
            "tr",
            el("td", fault),
            [el("td", v, class_="num") for v in (c.cells, view.seconds(c.median))],
            el("td", view.seconds(c.max), class_="num"),
        )
        for fault, c in view.cost_by_fault(card)
        if c.cells
    ]
    table = el("table", el("thead", head), el("tbody", rows), class_="costs")
    return _section("cost", "Cost", el("p", total.line + where), table if rows else None)
