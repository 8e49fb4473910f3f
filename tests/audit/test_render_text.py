"""The terminal summary: verdict, bugs found, matrix, failing cells and settings, machine,
cost; what a worker wrote cannot recolour, clear or flood the terminal."""

from __future__ import annotations

import unicodedata

from harness.testing.audit.report.card import AuditCard, Cell, Finding
from harness.testing.audit.report.card_view import TIMES
from harness.testing.audit.report.render import render_text
from tests.audit.cards import SAMPLED, mixed_card, own_state_card


def test_the_summary_gives_verdict_matrix_failures_machine_and_cost() -> None:
    assert render_text(mixed_card()) == [
        "jobstate audit FAIL: shop.tasks:app, 3 pass, 2 FAIL, 1 n/a in 17 s",
        "fault          PAY      SHIP     REFUND",
        "exception      pass     FAIL     pass",
        "worker-killed  FAIL     pass     not run",
        "redis-outage   n/a      not run  not run",
        "cut-off        not run  not run  not run",
        f"FAIL PAY {TIMES} worker-killed (not ended, 12 s)",
        "     stuck in PAY",
        "     no redelivery",
        f"FAIL SHIP {TIMES} exception (ended by stage, 0.50 s)",
        "     error does not name the stage",
        "FAIL setting visibility-timeout: visibility_timeout too short",
        "     60 s is shorter than the 300 s time limit of shop.ship.",
        '     add: app.conf.broker_transport_options = {"visibility_timeout": 3600}',
        "machine: FAIL, 3 examples, 17 steps: store says DONE, API says PAY",
        "cost: 5 cells in 17 s: median 0.75 s, max 12 s per cell",
    ]


def test_a_clean_card_says_pass_and_lists_no_failure() -> None:
    card = AuditCard("a:app", "w", ["S"], {"exception": "x"}, [Cell("S", "exception", "pass")])
    card.findings = [Finding("prefetch", False, "warning", "prefetch 4", "holds 4", fix="x = 1")]
    lines = render_text(card)
    assert lines[0].startswith("jobstate audit PASS: a:app, 1 pass, 0 FAIL, 0 n/a")
    assert not [line for line in lines if line.startswith("FAIL")]
    assert lines[-2] == "machine: not run"


def test_escapes_line_breaks_and_floods_are_shown_as_text() -> None:
    hostile = "\x1b[2J\x1b[31mred\r\nnext\u202eevil" + "A" * 100_000
    card = AuditCard(
        hostile,
        hostile,
        [hostile],
        {hostile: hostile},
        [Cell(hostile, hostile, "fail", [hostile], ended_by=hostile)],
        findings=[Finding(hostile, False, "error", hostile, hostile, fix=hostile)],
    )
    lines = render_text(card)
    for line in lines:
        assert not [c for c in line if unicodedata.category(c) == "Cc"], line[:80]
        assert "\u202e" not in line
        assert len(line) < 400
    assert "\\x1b[2J\\x1b[31mred ↵ next\\u202eevil" in lines[0]


def test_an_app_with_its_own_state_lists_every_bug_kind_and_tags_each_finding() -> None:
    lines = render_text(own_state_card())
    assert lines[:7] == [
        "jobstate audit FAIL: naive_resizer.app:app, 1 pass, 4 FAIL, 0 n/a in 21 s",
        "The app keeps its own job state, read through the adapter "
        "naive_resizer.audit:NaiveAdapter",
        "bugs found: 3 of the 4 kinds looked for",
        "     state updates disagree between processes: 2 cells: "
        "RESIZING/duplicate-delivery, UPLOADING/duplicate-delivery",
        "     transitions lost at task hand-offs: 1 cell: RESIZING/child-killed",
        "     the UI/API shows something other than the stored truth: not found",
        "     errors never reach the state: 2 cells: RESIZING/exception, RESIZING/child-killed",
    ]
    start = lines.index(f"FAIL RESIZING {TIMES} child-killed (not ended, 4.2 s)")
    assert lines[start + 1 : start + 4] == [
        "     [errors not propagated] Celery recorded naive.resize failed (WorkerLostError) "
        "but the state still says RESIZING",
        "     [lost at handoff] stuck in RESIZING: no task moved it on and nothing changed for 3 s",
        f"     store sampled: {SAMPLED}",
    ]
    assert "     the job ended in DONE" in lines, "a reason that names no bug has no tag"
    assert lines[-2] == "machine: not run (its test was left out of this run)"


def test_a_card_without_bugs_has_no_bug_lines_and_says_nothing_of_an_adapter() -> None:
    lines = render_text(mixed_card())
    assert not [line for line in lines if "bug" in line or "adapter" in line]
    plain = AuditCard("a:app", "w", ["S"], {"exception": "x"}, [Cell("S", "exception", "pass")])
    assert render_text(plain)[-2] == "machine: not run"
