"""Hostile text in every string field of a card stays text in every rendering.

Each example renders a card twice: once with hostile text, once with every string
replaced by a plain token (the same token for the same string, empty for empty). The
renderer's output may only differ where the text went: the HTML parses back to the same
elements and attributes with the text in place of the tokens, the Markdown to the same
lines, tables and code blocks.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Callable
from itertools import product
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.strategies import HOSTILE_SAMPLES, error_texts, hostile_text
from harness.testing.audit.report.card import (
    BUG_KINDS,
    AuditCard,
    Cell,
    Finding,
    MachineResult,
    Severity,
)
from harness.testing.audit.report.card_view import HISTORY_COLUMNS
from harness.testing.audit.report.html_gate import ALLOWED_TAGS, shown
from harness.testing.audit.report.render import (
    render_html,
    render_markdown,
    render_text,
    write_card,
)
from tests.audit.html_tree import Event, events
from tests.audit.markdown_shape import skeleton, tables

# Every example renders megabytes (some hostile samples are 100 kB long, and each card
# holds dozens of them), so the counts are kept modest.
HOSTILE = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT = st.one_of(hostile_text(surrogates=True), error_texts())
PAGE_TAGS = ALLOWED_TAGS | {"html", "head", "body", "style"}
# Known history fields keep their names (the renderer orders them); any other is user text.
KNOWN_FIELDS = {*HISTORY_COLUMNS, "id", "ms"}
TOKEN = re.compile("\u27e8(\\d+)\u27e9")


def _distinct(texts: list[str]) -> list[str]:
    # Not ``unique=True`` or ``.filter``: a rejected draw makes Hypothesis repr the text
    # strategy, whose samples include a 100 kB string (a HypothesisWarning, so an error).
    return list(dict.fromkeys(texts))


@st.composite
def history_entries(draw: st.DrawFn) -> dict[str, Any]:
    """A history entry with hostile text in every text field and one field of its own."""
    entry: dict[str, Any] = {
        "version": draw(st.integers(1, 9)),
        "attempt": draw(st.integers(1, 3)),
        "error": draw(st.none() | TEXT),
        "task_id": draw(st.none() | TEXT),
    }
    for name in ("at", "kind", "from", "status", "message"):
        entry[name] = draw(TEXT)
    other = draw(TEXT)
    entry[other + "!" if other in KNOWN_FIELDS else other] = draw(TEXT | st.integers() | st.none())
    return entry


def _bugs(draw: st.DrawFn, reasons: list[str]) -> list[dict[str, str]]:
    """Bugs of a cell: some of its ``reasons`` named as bugs, maybe one more finding; the
    kind is one of :data:`BUG_KINDS` or hostile text the card does not know."""
    # A plain function, not a strategy: the reasons are hostile and never its arguments.
    findings = [reason for reason in reasons if draw(st.booleans())]
    findings += draw(st.lists(TEXT, max_size=1))
    return [{"kind": draw(_kinds()), "finding": f, "way_over": draw(TEXT)} for f in findings]


@st.composite
def _kinds(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(list(BUG_KINDS)))
    kind = draw(TEXT)
    return kind + "!" if kind in BUG_KINDS else kind


@st.composite
def hostile_cards(draw: st.DrawFn) -> AuditCard:
    """A card whose every string (names, labels, reasons, bugs, evidence, findings, the
    machine's counterexample, the app, its adapter) is hostile."""
    stages = _distinct(draw(st.lists(TEXT, min_size=1, max_size=2)))
    faults = {
        fault: draw(TEXT) for fault in _distinct(draw(st.lists(TEXT, min_size=1, max_size=3)))
    }
    names = [*product(stages, faults), (draw(TEXT), draw(TEXT))]  # the last: not in the card
    cells = [Cell(stage, fault, **draw(_cell_fields())) for stage, fault in names]
    findings = draw(st.lists(_findings(), max_size=3))
    machine = MachineResult(
        ran=True,
        ok=draw(st.booleans()),
        examples=3,
        steps=9,
        reason=draw(TEXT),
        counterexample=draw(st.none() | TEXT),
    )
    app, workflow = draw(TEXT), draw(TEXT)
    # An app with its own state has no machine: the card says so, naming its adapter.
    adapter = draw(st.just("") | TEXT)
    return AuditCard(
        app,
        workflow,
        stages,
        faults,
        cells,
        findings,
        draw(st.none() | st.just(machine)),
        seconds=9.5,
        adapter=adapter,
    )


@st.composite
def _cell_fields(draw: st.DrawFn) -> dict[str, Any]:
    # Hostile names are never arguments of a strategy: Hypothesis would repr them.
    jobs = _distinct(draw(st.lists(TEXT, min_size=1, max_size=2)))
    reasons = draw(st.lists(TEXT, max_size=2))
    return {
        "verdict": draw(st.sampled_from(["pass", "fail", "n/a"])),
        "reasons": reasons,
        "bugs": _bugs(draw, reasons),
        "sampled": draw(st.just("") | TEXT),
        "ended_by": draw(TEXT),
        "final_status": draw(st.none() | TEXT),
        "seconds": draw(st.floats(0, 500)),
        "jobs": jobs,
        "evidence": {job: draw(st.lists(history_entries(), max_size=2)) for job in jobs},
        "test": draw(TEXT),
    }


@st.composite
def _findings(draw: st.DrawFn) -> Finding:
    severities: list[Severity] = ["error", "warning", "info"]
    return Finding(
        check=draw(TEXT),
        ok=draw(st.booleans()),
        severity=draw(st.sampled_from(severities)),
        title=draw(TEXT),
        reason=draw(TEXT),
        fix=draw(TEXT),
        task=draw(TEXT),
    )


def relabel(card: AuditCard, f: Callable[[str], str]) -> AuditCard:
    """``card`` with ``f`` applied to every string a user or worker wrote."""

    def entry(e: dict[str, Any]) -> dict[str, Any]:
        return {
            (k if k in KNOWN_FIELDS else f(k)): (f(v) if isinstance(v, str) else v)
            for k, v in e.items()
        }

    def bug(b: dict[str, str]) -> dict[str, str]:
        # A kind the card knows is vocabulary (it picks the title), not user text.
        return {k: v if k == "kind" and v in BUG_KINDS else f(v) for k, v in b.items()}

    def cell(c: Cell) -> Cell:
        return Cell(
            f(c.stage),
            f(c.fault),
            c.verdict,
            [f(r) for r in c.reasons],
            f(c.ended_by),
            None if c.final_status is None else f(c.final_status),
            c.seconds,
            [f(j) for j in c.jobs],
            {f(j): [entry(e) for e in es] for j, es in c.evidence.items()},
            f(c.test),
            [bug(b) for b in c.bugs],
            f(c.sampled),
        )

    def finding(x: Finding) -> Finding:
        texts = (f(x.check), x.ok, x.severity, f(x.title), f(x.reason), f(x.fix), f(x.task))
        return Finding(*texts)

    m = card.machine or MachineResult(ran=False)
    example = None if m.counterexample is None else f(m.counterexample)
    return AuditCard(
        f(card.app),
        f(card.workflow),
        [f(s) for s in card.stages],
        {f(k): f(v) for k, v in card.faults.items()},
        [cell(c) for c in card.cells],
        [finding(x) for x in card.findings],
        MachineResult(m.ran, m.ok, m.examples, m.steps, f(m.reason), example)
        if card.machine
        else None,
        card.seconds,
        adapter=f(card.adapter),
    )


def tokenised(card: AuditCard) -> tuple[AuditCard, list[str]]:
    """``card`` with each distinct string replaced by a token, and the strings by token."""
    originals: dict[str, str] = {}

    def token(text: str) -> str:
        if not text:
            return ""
        return originals.setdefault(text, f"\u27e8{len(originals)}\u27e9")

    plain = relabel(card, token)
    return plain, list(originals)


def _put_back(event: Event, originals: list[str]) -> Event:
    if event[0] != "text":
        return event
    return ("text", TOKEN.sub(lambda m: shown(originals[int(m.group(1))]), event[1]))


@settings(HOSTILE, max_examples=60)
@given(card=hostile_cards())
def test_html_holds_only_the_renderers_elements_and_the_text_round_trips(card: AuditCard) -> None:
    plain, originals = tokenised(card)
    hostile = events(render_html(card))
    expected = [_put_back(e, originals) for e in events(render_html(plain))]
    assert hostile == expected
    starts = [e for e in hostile if e[0] == "start"]
    assert {e[1] for e in starts} <= PAGE_TAGS
    assert not [a for e in starts for a, _ in e[2] if a.startswith("on") or a == "style"]
    assert not [e for e in hostile if e[0] not in ("start", "end", "text", "decl")]


def _collapsed(kinds: list[str]) -> list[str]:
    # A code block holds as many lines as its text; the block itself is what must not move.
    return [k for i, k in enumerate(kinds) if k != "code" or kinds[i - 1 : i] != ["code"]]


@HOSTILE
@given(card=hostile_cards())
def test_markdown_keeps_its_lines_tables_and_code_blocks(card: AuditCard) -> None:
    plain, _ = tokenised(card)
    markdown = render_markdown(card)
    assert _collapsed(skeleton(markdown)) == _collapsed(skeleton(render_markdown(plain)))
    found = tables(markdown)
    assert len(found) == len(tables(render_markdown(plain)))
    for table in found:
        assert {len(row) for row in table} == {len(table[0])}


@HOSTILE
@given(card=hostile_cards())
def test_terminal_lines_hold_no_control_or_bidi_character(card: AuditCard) -> None:
    for line in render_text(card):
        odd = [c for c in line if unicodedata.category(c) in ("Cc", "Cs")]
        assert not odd, line[:120]
        assert not set(line) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@settings(HOSTILE, max_examples=20)
@given(card=hostile_cards())
def test_every_hostile_card_is_written_and_reads_back(card: AuditCard) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = write_card(card, Path(folder))
        assert AuditCard.from_json(json.loads(paths[0].read_text(encoding="utf-8"))) == card


def test_the_samples_reach_every_field() -> None:
    # The strategy draws from the known hostile samples; the comparison must see them.
    sample = HOSTILE_SAMPLES[0]
    bug = {"kind": sample, "finding": sample, "way_over": sample}
    cell = Cell(sample, sample, "fail", [sample], bugs=[bug], sampled=sample)
    card = AuditCard(sample, sample, [sample], {sample: sample}, [cell], adapter=sample)
    plain, originals = tokenised(card)
    assert originals == [sample]
    assert "<img" not in render_html(card)
    assert "\u27e80\u27e9" in render_html(plain)
