"""The Markdown card: verdict, bugs found, matrix, failing cells with their evidence,
settings with their fixes, the machine's counterexample and the cost; user text never adds
structure."""

from __future__ import annotations

from harness.testing.audit.report.card import AuditCard, Cell, Finding, MachineResult
from harness.testing.audit.report.card_view import TIMES
from harness.testing.audit.report.render import render_markdown
from tests.audit.cards import SAMPLED, mixed_card, own_state_card, realistic_card
from tests.audit.markdown_shape import code_blocks, skeleton, split_row, tables


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end > 0 else None]


def test_title_and_summary_give_the_verdict() -> None:
    lines = render_markdown(mixed_card()).split("\n")
    assert lines[0] == "# Job-state audit: FAIL"
    assert lines[2] == (
        f"App shop.tasks:app, workflow orders: 3 stages {TIMES} 4 faults, "
        "3 pass, 2 FAIL, 1 n/a, 17 s."
    )
    clean = AuditCard("a:app", "w", ["S"], {"exception": "x"}, [Cell("S", "exception", "pass")])
    assert render_markdown(clean).startswith("# Job-state audit: PASS\n")


def test_the_matrix_says_pass_fail_or_na_with_who_ended_the_job_and_how_long() -> None:
    matrix = tables(render_markdown(mixed_card()))[0]
    assert matrix == [
        ["stage", "exception", "worker-killed", "redis-outage", "cut-off"],
        ["PAY", "pass · stage · 0.25 s", "**FAIL** · not ended · 12 s", "n/a", "not run"],
        ["SHIP", "**FAIL** · stage · 0.50 s", "pass · redelivery · 3.0 s", "not run", "not run"],
        ["REFUND", "pass · stage · 0.75 s", "not run", "not run", "not run"],
    ]


def test_a_failing_cell_gives_its_reasons_and_its_jobs_history() -> None:
    failing = _section(render_markdown(mixed_card()), "Failing cells")
    assert (
        f"### PAY {TIMES} worker-killed\n\nFAIL after 12 s, ended by nothing, final status PAY."
        in failing
    )
    assert "- stuck in PAY\n- no redelivery\n" in failing
    assert "Test: tests/test\\_audit.py::PAY\\[worker-killed\\]" in failing
    history = tables(failing)[0]
    assert history[0] == [
        "version",
        "at",
        "kind",
        "from",
        "status",
        "attempt",
        "message",
        "error",
        "task\\_id",
    ]
    assert history[2] == [
        "2",
        "2026-01-01T00:00:02.400Z",
        "transition",
        "NEW",
        "PAY",
        "1",
        "paying",
        "",
        "c0ffee02-5e1f-4b7a",
    ]
    assert f"- PAY {TIMES} redis-outage: no Redis to stop" in render_markdown(mixed_card())


def test_findings_come_with_their_reason_and_the_fix_in_a_code_block() -> None:
    settings = _section(render_markdown(mixed_card()), "Settings")
    headings = [line for line in settings.split("\n") if line.startswith("### ")]
    assert headings == [
        "### FAIL: visibility\\_timeout too short",
        "### warning: prefetch multiplier 4",
        "### info: results expire in 1 day",
        "### ok: late acks on",
    ]
    assert "Check visibility-timeout, severity error (task shop.ship)." in settings
    assert "60 s is shorter than the 300 s time limit of shop.ship." in settings
    assert code_blocks(settings) == [
        ['app.conf.broker_transport_options = {"visibility_timeout": 3600}'],
        ["app.conf.worker_prefetch_multiplier = 1"],
    ]
    assert "```python\n" in settings


def test_the_counterexample_is_a_python_code_block() -> None:
    machine = _section(render_markdown(mixed_card()), "State machine")
    assert "FAIL, 3 examples, 17 steps: store says DONE, API says PAY" in machine
    assert code_blocks(machine) == [
        ["def test_replay():", "    state = Machine()", "    state.submit()"]
    ]
    card = mixed_card()
    card.machine = MachineResult(ran=True, ok=False, counterexample="x = '```'\n````\n")
    fenced = code_blocks(render_markdown(card))
    assert fenced[-1] == ["x = '```'", "````"], "backticks inside cannot close the block"


def test_the_cost_gives_the_median_and_max_per_cell() -> None:
    cost = _section(render_markdown(realistic_card()), "Cost")
    assert (
        f"47 cells in 116 s: median 1.2 s, max 20 s per cell "
        f"(slowest: TRANSCRIBING {TIMES} worker-killed)."
    ) in cost
    rows = tables(cost)[0]
    assert rows[0] == ["fault", "cells", "median", "max"]
    assert ["time-limit", "3", "2.1 s", "2.1 s"] in rows
    assert ["worker-killed", "4", "3.4 s", "20 s"] in rows


def test_pipes_backticks_and_newlines_in_user_text_stay_inside_their_cell() -> None:
    job = "j|1"
    entry = {"version": 1, "message": "a | b `code` c\nd\r\ne", "error": "x\\|y"}
    card = AuditCard(
        "app|x",
        "w",
        ["S|T"],
        {"f`1": "label|"},
        [
            Cell(
                "S|T",
                "f`1",
                "fail",
                ["r|1\nr2"],
                ended_by="a|b",
                jobs=[job],
                evidence={job: [entry]},
            )
        ],
        findings=[Finding("c|k", False, "error", "t|1", "reason\n|x|", fix="a = '|'")],
    )
    markdown = render_markdown(card)
    for table in tables(markdown):
        assert len({len(row) for row in table}) == 1, table
    history = tables(markdown)[1]
    assert history[1] == ["1", "a \\| b \\`code\\` c ↵ d ↵ e", "x\\\\\\|y"]
    assert split_row("| a \\| b | c |") == ["a \\| b", "c"]
    assert skeleton("| a | b \\| c |\n\n- x\n## y\n```\nz\n```") == [
        "table:2",
        "text",
        "item",
        "h2",
        "code",
        "code",
        "code",
    ]
    assert "- r\\|1 ↵ r2" in markdown


def test_the_bugs_found_list_every_kind_with_its_count_and_links_to_the_cells() -> None:
    markdown = render_markdown(own_state_card())
    assert markdown.index("\n## Bugs found\n") < markdown.index(f"\n## Stages {TIMES} faults\n")
    assert tables(_section(markdown, "Bugs found"))[0] == [
        ["bug", "cells", "found in"],
        [
            "state updates disagree between processes (inconsistent-updates)",
            "2",
            "[RESIZING/duplicate-delivery](#cell-3), [UPLOADING/duplicate-delivery](#cell-5)",
        ],
        [
            "transitions lost at task hand-offs (lost-at-handoff)",
            "1",
            "[RESIZING/child-killed](#cell-2)",
        ],
        [
            "the UI/API shows something other than the stored truth (ui-not-truth)",
            "not found",
            "no cell found it",
        ],
        [
            "errors never reach the state (errors-not-propagated)",
            "2",
            "[RESIZING/exception](#cell-1), [RESIZING/child-killed](#cell-2)",
        ],
    ]
    failing = _section(markdown, "Failing cells")
    for link in ("cell-1", "cell-2", "cell-3", "cell-5"):
        assert f'<a id="{link}"></a>\n\n### ' in failing, "every link reaches its cell"
    assert '<a id="cell-4">' not in failing, "the passing cell has no section"


def test_each_bug_shows_its_kind_and_what_our_store_does_instead() -> None:
    failing = _section(render_markdown(own_state_card()), "Failing cells")
    killed = failing[failing.index(f"### RESIZING {TIMES} child-killed") :]
    assert (
        "- **errors never reach the state**: Celery recorded naive.resize failed "
        "(WorkerLostError) but the state still says RESIZING\n"
        "  - what our store does instead: the tracker hears Celery's task\\_failure in the "
        "worker's parent too\n"
        "- **transitions lost at task hand-offs**: stuck in RESIZING: no task moved it on and "
        "nothing changed for 3 s\n"
        "  - what our store does instead: the stale sweep ends a job whose worker went silent, "
        "naming the stage\n"
    ) in killed
    assert f"Store sampled: {SAMPLED}" in killed
    assert "- the job ended in DONE\n" in failing, "a reason that names no bug stays plain"
    assert tables(killed)[0][0] == ["at", "source", "status", "error", "result"]


def test_an_app_with_its_own_state_says_why_the_machine_did_not_run() -> None:
    markdown = render_markdown(own_state_card())
    assert "read through the adapter naive\\_resizer.audit:NaiveAdapter." in markdown
    machine = _section(markdown, "State machine")
    assert "not run (its test was left out of this run)" in machine
    plain = render_markdown(mixed_card())
    assert "## Bugs found" not in plain
    assert "adapter" not in plain
