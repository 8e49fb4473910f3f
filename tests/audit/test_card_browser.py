"""The HTML card in a real Chromium from file://: text only, nothing blocked by its own
policy, red cells and the bugs found reaching their evidence; and the picture the README
shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from harness.testing.audit.report.card import AuditCard, Cell, Finding, MachineResult
from harness.testing.audit.report.card_view import TIMES
from harness.testing.audit.report.html_gate import shown
from harness.testing.audit.report.render import write_card
from tests.audit.cards import history, mixed_card, own_state_card, realistic_card
from tests.ui.page.shots import PNG_MAGIC

pytestmark = pytest.mark.ui

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
HOSTILE = f'{SCRIPT}"><svg/onload=alert(2)> javascript:alert(3) \u202eevil.exe a\x00b\r\nc'
COUNT = """() => [
  document.scripts.length,
  document.images.length,
  document.querySelectorAll("svg, iframe, object, embed, link, base, form").length,
  [...document.all].filter((e) => e.getAttributeNames().some((a) => a.startsWith("on"))).length,
]"""
TITLE = "() => document.querySelector('title').textContent"
ERR_RED = "rgb(180, 35, 24)"
README_SHOT = Path("docs") / "audit-card.png"


@pytest.fixture
def console(page: Page) -> list[str]:
    """Function: every console message, page error and dialog of ``page``, as text."""
    said: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        said.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        said.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: said.append(f"pageerror: {error}"))
    page.on("dialog", on_dialog)
    return said


def _open(page: Page, card: AuditCard, folder: Path) -> None:
    html = write_card(card, folder)[2]
    page.goto(html.as_uri())
    expect(page.get_by_test_id("verdict")).to_be_visible()


def _text(page: Page, testid: str) -> str:
    return str(page.get_by_test_id(testid).first.evaluate("e => e.textContent"))


def _hostile_card() -> AuditCard:
    job = f"job {IMG}"
    cell = Cell(
        HOSTILE,
        IMG,
        "fail",
        reasons=[HOSTILE, IMG],
        ended_by=SCRIPT,
        final_status=IMG,
        seconds=2.0,
        jobs=[job],
        evidence={job: history(job, [(None, HOSTILE, IMG)], error=SCRIPT)},
        test=HOSTILE,
    )
    finding = Finding(IMG, False, "error", HOSTILE, SCRIPT, fix=HOSTILE, task=IMG)
    machine = MachineResult(ran=True, ok=False, reason=IMG, counterexample=HOSTILE)
    return AuditCard(HOSTILE, IMG, [HOSTILE], {IMG: HOSTILE}, [cell], [finding], machine)


def test_hostile_text_shows_as_text_and_nothing_runs(
    page: Page, console: list[str], tmp_path: Path
) -> None:
    _open(page, _hostile_card(), tmp_path)
    assert page.evaluate(COUNT) == [0, 0, 0, 0]
    assert _text(page, "app") == shown(HOSTILE)
    assert _text(page, "counterexample") == shown(HOSTILE)
    section = page.get_by_test_id("cell-1")
    expect(section.locator("ul.reasons li")).to_have_count(2)
    reasons = section.locator("ul.reasons li").evaluate_all("els => els.map(e => e.textContent)")
    assert reasons == [shown(HOSTILE), IMG]
    assert page.evaluate(TITLE) == f"Job-state audit: FAIL · {shown(HOSTILE)}"
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert console == []


def test_the_page_style_applies_under_its_policy_and_a_red_cell_reaches_its_evidence(
    page: Page, console: list[str], tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    _open(page, realistic_card(), tmp_path)
    red = page.get_by_test_id("red-cell")
    assert red.evaluate("e => getComputedStyle(e.parentElement).backgroundColor") == ERR_RED
    evidence = page.get_by_test_id("cell-18")
    expect(evidence).not_to_be_in_viewport()
    red.click()
    expect(page).to_have_url(f"{(tmp_path / 'audit.html').as_uri()}#cell-18")
    expect(evidence).to_be_in_viewport()
    expect(evidence.locator("h3")).to_have_text(f"TRANSCRIBING {TIMES} worker-killed")
    expect(evidence.locator("table.timeline tbody tr")).to_have_count(3)
    expect(evidence.locator("table.timeline tbody tr").last).to_contain_text("transcribing 0%")
    evidence.get_by_role("link", name="back to the matrix").click()
    expect(page.get_by_test_id("matrix")).to_be_in_viewport()
    assert console == []


def test_a_bug_found_links_to_the_cell_that_found_it(
    page: Page, console: list[str], tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    _open(page, own_state_card(), tmp_path)
    bugs = page.get_by_test_id("bugs")
    expect(bugs.locator("tbody tr")).to_have_count(4)
    evidence = page.get_by_test_id("cell-5")
    expect(evidence).not_to_be_in_viewport()
    bugs.get_by_role("link", name="UPLOADING/duplicate-delivery").click()
    expect(page).to_have_url(f"{(tmp_path / 'audit.html').as_uri()}#cell-5")
    expect(evidence).to_be_in_viewport()
    expect(evidence.locator("h3")).to_have_text(f"UPLOADING {TIMES} duplicate-delivery")
    expect(evidence.locator(".way-over")).to_contain_text("What our store does instead")
    assert console == []


def test_a_style_the_policy_does_not_name_is_refused_and_reported(
    page: Page, console: list[str], tmp_path: Path
) -> None:
    # The check above could fail: a page whose style changed after it was hashed shows
    # the violation on the console and its cells lose their colour.
    html = write_card(mixed_card(), tmp_path)[2]
    html.write_text(html.read_text(encoding="utf-8").replace("<style>", "<style> "), "utf-8")
    page.goto(html.as_uri())
    red = page.get_by_test_id("red-cell").first
    assert red.evaluate("e => getComputedStyle(e.parentElement).backgroundColor") != ERR_RED
    assert [line for line in console if "Content Security Policy" in line]


def test_screenshot_of_a_realistic_card(
    page: Page, console: list[str], tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _open(page, realistic_card(), tmp_path)
    expect(page.get_by_test_id("red-cell")).to_have_count(1)
    detail = page.get_by_test_id("red-cell").get_attribute("href")
    assert detail == "#cell-18"
    box = page.locator(detail).bounding_box()
    assert box is not None
    shot = tmp_path / "audit-card.png"
    bottom = box["y"] + box["height"] + 12  # the header, the matrix and the red cell's section
    page.screenshot(
        path=str(shot), clip={"x": 0, "y": 0, "width": 1280, "height": bottom}, full_page=True
    )
    picture = shot.read_bytes()
    assert picture.startswith(PNG_MAGIC)
    assert len(picture) > 50_000, "the card looks empty"
    assert console == []
    # Published with the run's other results; the README's copy (docs/audit-card.png) is
    # refreshed by hand from it, so a test run never writes into the checkout.
    published = pytestconfig.rootpath / "test-results" / README_SHOT.name
    published.parent.mkdir(parents=True, exist_ok=True)
    published.write_bytes(picture)
