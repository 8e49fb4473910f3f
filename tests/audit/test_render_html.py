"""The HTML card: the bugs found, the grid, red cells reaching their evidence, findings, the
machine, the page's policy; and the gate that every value passes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from harness.testing.audit.report.card import AuditCard, Cell
from harness.testing.audit.report.card_view import TIMES
from harness.testing.audit.report.html_gate import Markup, concat, el, shown, text
from harness.testing.audit.report.render import render_html
from tests.audit.cards import SAMPLED, mixed_card, own_state_card, realistic_card
from tests.audit.html_tree import Node, events, tree


@pytest.fixture
def card_page() -> Node:
    """Function: the mixed card's page parsed back into a tree."""
    return tree(render_html(mixed_card()))


def _grid(root: Node) -> list[list[str]]:
    matrix = root.by("id", "matrix")
    return [
        [" ".join(td.classes) for td in row.all("td")] for row in matrix.all("tbody")[0].all("tr")
    ]


def test_the_matrix_is_a_grid_of_coloured_cells(card_page: Node) -> None:
    assert _grid(card_page) == [
        ["c pass", "c fail", "c na", "c none"],
        ["c fail", "c pass", "c none", "c none"],
        ["c pass", "c none", "c none", "c none"],
    ]
    matrix = card_page.by("id", "matrix")
    heads = [th.text for th in matrix.all("thead")[0].all("th")]
    assert heads == ["stage", "exception", "worker-killed", "redis-outage", "cut-off"]
    rows = [th.text for th in matrix.all("tbody")[0].all("th")]
    assert rows == ["PAY", "SHIP", "REFUND"]
    first = matrix.all("td")[0]
    assert [n.text for n in first.all()[2:]] == ["pass", "stage", "0.25 s"]
    labels = [div.text for div in matrix.all("dl", "legend")[0].all("div")]
    assert labels[:2] == ["exceptionan exception", "worker-killedworker killed"]


def test_each_red_cell_links_to_a_section_with_its_reasons_and_history(card_page: Node) -> None:
    red = card_page.all("a")
    links = [a.attrs["href"] for a in red if a.attrs.get("data-testid") == "red-cell"]
    assert links == ["#cell-2", "#cell-4"]
    pay = card_page.by("id", "cell-2")
    assert pay.all("h3")[0].text == f"PAY {TIMES} worker-killed"
    assert [li.text for li in pay.all("ul", "reasons")[0].all("li")] == [
        "stuck in PAY",
        "no redelivery",
    ]
    timeline = pay.all("table", "timeline")[0]
    assert [th.text for th in timeline.all("th")][:5] == ["version", "at", "kind", "from", "status"]
    rows = [[td.text for td in tr.all("td")] for tr in timeline.all("tbody")[0].all("tr")]
    assert [row[4] for row in rows] == ["NEW", "PAY"]
    assert rows[1][:4] == ["2", "2026-01-01T00:00:02.400Z", "transition", "NEW"]
    facts = [div.text for div in pay.all("dl", "facts")[0].all("div")]
    assert facts == [
        "Ended bynothing",
        "Took12 s",
        "Final statusPAY",
        "Testtests/test_audit.py::PAY[worker-killed]",
    ]


def test_a_history_entry_with_an_error_is_marked(card_page: Node) -> None:
    ship = card_page.by("id", "cell-4")
    rows = ship.all("table", "timeline")[0].all("tbody")[0].all("tr")
    assert [tr.classes for tr in rows] == [["step"], ["err"]]


def test_an_na_cell_links_to_why(card_page: Node) -> None:
    na = card_page.by("id", "matrix").all("td", "na")[0].all("a")[0]
    assert na.attrs["href"] == "#na-3"
    assert card_page.by("id", "na-3").text == f"PAY {TIMES} redis-outage: no Redis to stop"


def test_findings_show_their_verdict_reason_and_fix(card_page: Node) -> None:
    findings = card_page.by("id", "settings").all("article")
    assert [f.classes for f in findings] == [
        ["finding", "fail"],
        ["finding", "warn"],
        ["finding", "info"],
        ["finding", "ok"],
    ]
    failing = findings[0]
    assert failing.all("h3")[0].text == "visibility_timeout too short"
    assert failing.all("pre")[0].text == (
        'app.conf.broker_transport_options = {"visibility_timeout": 3600}'
    )
    assert findings[3].all("pre") == []


def test_the_counterexample_is_in_a_pre(card_page: Node) -> None:
    pre = card_page.by("data-testid", "counterexample")
    assert pre.tag == "pre"
    assert pre.text == mixed_card().machine.counterexample  # type: ignore[union-attr]
    assert (
        card_page.by("data-testid", "machine").text
        == "FAIL 3 examples, 17 steps: store says DONE, API says PAY"
    )


def test_the_verdict_and_summary_head_the_page(card_page: Node) -> None:
    assert card_page.by("data-testid", "verdict").text == "FAIL"
    assert card_page.by("data-testid", "summary").text == (
        f"workflow orders · 3 stages {TIMES} 4 faults · 3 pass, 2 FAIL, 1 n/a · 17 s"
    )
    passing = AuditCard("a:app", "w", ["S"], {"exception": "x"}, [Cell("S", "exception", "pass")])
    assert tree(render_html(passing)).by("data-testid", "verdict").text == "PASS"


def test_the_policy_allows_exactly_the_page_style_by_its_hash() -> None:
    root = tree(render_html(realistic_card()))
    meta = [m for m in root.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    policy = meta[0].attrs["content"]
    style = root.all("style")[0].text
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy == (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    order = [n.tag for n in root.all() if n.tag in ("meta", "style", "body")]
    assert order.index("style") > 1, "the policy must come before the style it allows"


def test_the_page_has_no_script_handler_style_attribute_or_external_resource() -> None:
    tags = [e for e in events(render_html(realistic_card())) if e[0] == "start"]
    names = {e[1] for e in tags}
    attributes = {name for e in tags for name, _ in e[2]}
    assert names.isdisjoint({"script", "img", "link", "iframe", "object", "embed", "form"})
    assert not [a for a in attributes if a.startswith("on") or a in ("style", "src")]
    hrefs = [value for e in tags for name, value in e[2] if name == "href"]
    assert hrefs
    assert all(h.startswith("#") for h in hrefs)


def test_the_gate_escapes_every_value_once() -> None:
    assert text('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert text("a\rb\x00c\ud800") == "a&#13;b\ufffdc\ufffd"
    assert shown("a\x00b") == "a\ufffdb"
    assert text(Markup("<b>")) == "<b>"
    assert el("p", "<b>", 3, None, class_="x") == '<p class="x">&lt;b&gt;3</p>'
    assert concat("<", el("code", "&"), ["1", None]) == "&lt;<code>&amp;</code>1"
    assert (
        el("td", "x", data_testid='"><script>')
        == '<td data-testid="&quot;&gt;&lt;script&gt;">x</td>'
    )


@pytest.mark.parametrize(
    ("tag", "attrs", "refused"),
    [
        ("script", {}, "<script> is not allowed"),
        ("img", {}, "<img> is not allowed"),
        ("p", {"onclick": "x"}, "attribute 'onclick' is not allowed"),
        ("p", {"style": "x"}, "attribute 'style' is not allowed"),
        ("p", {"Class": "x"}, "attribute 'Class' is not allowed"),
        ("a", {"href": "javascript:alert(1)"}, "links only within itself"),
        ("a", {"href": "https://example.com/"}, "links only within itself"),
    ],
)
def test_the_gate_refuses_what_the_page_must_never_hold(
    tag: str, attrs: dict[str, str], refused: str
) -> None:
    with pytest.raises(ValueError, match=refused):
        el(tag, "x", **attrs)


@pytest.fixture
def own_state_page() -> Node:
    """Function: the page of an app with its own state, parsed back into a tree."""
    return tree(render_html(own_state_card()))


def test_the_bugs_found_list_every_kind_with_its_count_and_links_to_the_cells(
    own_state_page: Node,
) -> None:
    main = own_state_page.all("main")[0]
    sections = [n.attrs.get("id") for n in main.children if isinstance(n, Node)]
    assert sections[:2] == ["bugs", "matrix"], "the bugs found come first"
    rows = own_state_page.by("id", "bugs").all("tbody")[0].all("tr")
    assert [[cell.text for cell in row.all("th") + row.all("td")] for row in rows] == [
        [
            "state updates disagree between processesinconsistent-updates",
            "2 cells",
            "RESIZING/duplicate-delivery, UPLOADING/duplicate-delivery",
        ],
        ["transitions lost at task hand-offslost-at-handoff", "1 cell", "RESIZING/child-killed"],
        [
            "the UI/API shows something other than the stored truthui-not-truth",
            "not found",
            "no cell found it",
        ],
        [
            "errors never reach the stateerrors-not-propagated",
            "2 cells",
            "RESIZING/exception, RESIZING/child-killed",
        ],
    ]
    assert [row.classes for row in rows] == [["found"], ["found"], ["none"], ["found"]]
    links = [[a.attrs["href"] for a in row.all("a")] for row in rows]
    assert links == [["#cell-3", "#cell-5"], ["#cell-2"], [], ["#cell-1", "#cell-2"]]
    for href, key in (
        ("#cell-3", "RESIZING/duplicate-delivery"),
        ("#cell-1", "RESIZING/exception"),
    ):
        stage, fault = key.split("/")
        target = own_state_page.by("id", href[1:])
        assert target.all("h3")[0].text == f"{stage} {TIMES} {fault}"
    nav = [a.attrs["href"] for a in own_state_page.all("nav")[0].all("a")]
    assert nav[:2] == ["#bugs", "#matrix"]


def test_each_bug_shows_its_kind_and_what_our_store_does_instead(own_state_page: Node) -> None:
    killed = own_state_page.by("id", "cell-2")
    items = killed.all("ul", "reasons")[0].all("li")
    assert [li.classes for li in items] == [["bug"], ["bug"]]
    assert [li.all("span", "bug-kind")[0].text for li in items] == [
        "errors never reach the state",
        "transitions lost at task hand-offs",
    ]
    assert [li.all("div", "way-over")[0].text for li in items] == [
        "What our store does instead: the tracker hears Celery's task_failure in the worker's "
        "parent too",
        "What our store does instead: the stale sweep ends a job whose worker went silent, "
        "naming the stage",
    ]
    facts = [div.text for div in killed.all("dl", "facts")[0].all("div")]
    assert facts[-1] == f"Store sampled{SAMPLED}"
    head = [th.text for th in killed.all("table", "timeline")[0].all("th")]
    assert head == ["at", "source", "status", "error", "result"]
    swallowed = own_state_page.by("id", "cell-1").all("ul", "reasons")[0].all("li")
    assert swallowed[1].classes == []
    assert swallowed[1].text == "the job ended in DONE"


def test_an_app_with_its_own_state_says_why_the_machine_did_not_run(
    own_state_page: Node,
) -> None:
    assert own_state_page.by("data-testid", "machine").text == (
        "not run its test was left out of this run"
    )
    assert own_state_page.by("data-testid", "adapter").text == (
        "The app keeps its own job state, read through the adapter naive_resizer.audit:NaiveAdapter"
    )


def test_a_card_without_bugs_has_no_bugs_section(card_page: Node) -> None:
    assert not [n for n in card_page.walk() if n.attrs.get("id") == "bugs"]
    assert not [n for n in card_page.walk() if n.attrs.get("data-testid") == "adapter"]
    assert card_page.by("data-testid", "machine").text.startswith("FAIL")
