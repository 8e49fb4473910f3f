"""The report card as one self-contained HTML page: ``audit.html`` (no pytest).

A header with the verdict, for an app with its own state the bugs found (each kind with
links to the cells that found it), the matrix as a grid of green, red and grey cells (each red
cell a link to its section: plain anchors, no script), a section per failing cell with
its reasons and each job's history as a timeline, the settings findings with their fix,
the state machine with its counterexample, the cost. Built only with
:func:`~harness.testing.audit.report.html_gate.el`, so every value is text; the style comes from
``card.css`` and is the only thing the page's policy lets apply.
"""

from __future__ import annotations

from importlib import resources

from harness.testing.audit.report import card_view as view
from harness.testing.audit.report import html_sections as sections
from harness.testing.audit.report.card import AuditCard, Cell
from harness.testing.audit.report.html_gate import Markup, concat, el, page

__all__ = ["STYLE", "render_html"]

STYLE = (
    resources.files("harness.testing.audit.report").joinpath("card.css").read_text(encoding="utf-8")
)
"""The page's one stylesheet (its hash goes into the page's policy)."""

_CLASSES = {"pass": "pass", "fail": "fail", "n/a": "na"}


def _verdict(card: AuditCard) -> str:
    return "PASS" if card.passed else "FAIL"


def _header(card: AuditCard) -> Markup:
    grid = view.matrix(card)
    facts = (
        f"workflow {card.workflow} · {len(grid.stages)} stages {view.TIMES} "
        f"{len(grid.faults)} faults · {view.counts_line(card)} · {view.seconds(card.seconds)}"
    )
    verdict = _verdict(card)
    return el(
        "header",
        el(
            "div",
            el("p", "Job-state audit", class_="kicker"),
            el(
                "h1",
                el("span", verdict, class_="verdict", data_testid="verdict"),
                el("span", card.app, class_="app", data_testid="app"),
            ),
            el("p", facts, class_="facts-line", data_testid="summary"),
            _adapter(card),
            class_="wrap",
        ),
        class_=f"top {verdict.lower()}",
    )


def _adapter(card: AuditCard) -> Markup | None:
    line = view.adapter_line(card)
    return el("p", line, class_="facts-line", data_testid="adapter") if line else None


def _nav(card: AuditCard) -> Markup:
    failing = len(view.matrix(card).with_verdict("fail"))
    bugs = [("#bugs", "Bugs found")] if view.has_bugs(card) else []
    links = [
        *bugs,
        ("#matrix", "Matrix"),
        ("#failing", f"Failing cells ({failing})"),
        ("#settings", "Settings"),
        ("#machine", "State machine"),
        ("#cost", "Cost"),
    ]
    return el("nav", [el("a", label, href=href) for href, label in links], class_="wrap toc")


def _matrix_cell(found: tuple[int, Cell] | None) -> Markup:
    if found is None:
        return el(
            "td", el("span", el("span", "not run", class_="word"), class_="in"), class_="c none"
        )
    index, cell = found
    ended, took = view.cell_note(cell)
    inner = concat(
        el("span", view.verdict_word(cell), class_="word"),
        el("small", ended) if ended else None,
        el("small", took) if took else None,
    )
    css = f"c {_CLASSES.get(cell.verdict, 'none')}"
    if cell.verdict == "fail":
        box = el("a", inner, href=f"#{view.anchor(index)}", class_="in", data_testid="red-cell")
    elif cell.verdict == "n/a":
        box = el("a", inner, href=f"#{view.anchor(index, 'na')}", class_="in")
    else:
        box = el("span", inner, class_="in")
    return el("td", box, class_=css)


def _matrix(card: AuditCard) -> Markup:
    grid = view.matrix(card)
    head = el(
        "tr",
        el("th", "stage", scope="col", class_="corner"),
        [el("th", el("span", f), scope="col", class_="fault") for f in grid.faults],
    )
    rows = [
        el(
            "tr",
            el("th", stage, scope="row", class_="stage"),
            [_matrix_cell(grid.at(stage, f)) for f in grid.faults],
        )
        for stage in grid.stages
    ]
    legend = [
        el("div", el("dt", fault), el("dd", grid.labels.get(fault, ""))) for fault in grid.faults
    ]
    return el(
        "section",
        el("h2", f"Stages {view.TIMES} faults"),
        el(
            "div",
            el("table", el("thead", head), el("tbody", rows), class_="matrix"),
            class_="scroll",
        ),
        el("dl", legend, class_="legend"),
        class_="card",
        id="matrix",
        data_testid="matrix",
    )


def render_html(card: AuditCard) -> str:
    """The card as a whole HTML document: text only, nothing loaded, nothing run."""
    body = concat(
        _header(card),
        _nav(card),
        el(
            "main",
            sections.bugs(card),
            _matrix(card),
            sections.failing(card),
            sections.not_planted(card),
            sections.settings(card),
            sections.machine(card),
            sections.cost(card),
            class_="wrap",
        ),
        el("footer", f"pytest-jobstate audit card, format {card.version}", class_="wrap foot"),
    )
    return page(f"Job-state audit: {_verdict(card)} · {card.app}", STYLE, body)
