"""Run axe-core (vendored, test-only) inside the page under test and report what it finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

__all__ = ["AXE_JS", "WCAG_AA_TAGS", "axe_violations"]

AXE_JS = Path(__file__).with_name("vendor") / "axe.min.js"
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN_AXE = """async tags => {
  const found = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return found.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => `${n.target.join(" ")}: ${n.failureSummary}`),
  }));
}"""


def axe_violations(page: Page, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's WCAG A/AA violations for the page as it is now (every visible element).

    The script is evaluated by the browser driver, not added as a ``<script>`` element, so
    the page's Content-Security-Policy stays exactly as the app sends it.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, tags or WCAG_AA_TAGS)
    return found
