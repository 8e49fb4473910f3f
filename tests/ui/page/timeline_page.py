"""Read the job page's timeline, live region and recent-jobs list as plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator

from harness.testing.browser.ui_view import UiView

__all__ = ["Attempt", "ListItem", "Row", "TimelinePage", "duration_ms"]

READ_ATTEMPTS = """
els => els.map(d => ({
  attempt: Number(d.dataset.attempt),
  outcome: d.dataset.outcome,
  open: d.open,
  summary: d.querySelector("summary").textContent,
  rows: [...d.querySelectorAll('[data-testid="timeline-row"]')].map(r => ({
    status: r.dataset.status,
    kind: r.dataset.kind,
    marks: r.dataset.marks ? r.dataset.marks.split(" ") : [],
    mark_texts: [...r.querySelectorAll('[data-testid="row-mark"]')].map(m => m.textContent),
    duration: r.querySelector('[data-testid="row-duration"]').textContent,
    error: r.querySelector('[data-testid="row-error"]')?.textContent ?? null,
    task_id: r.querySelector('[data-testid="row-task"] code')?.textContent ?? null,
  })),
}))
"""

READ_LIST = """
els => els.map(li => ({
  job_id: li.dataset.jobId,
  status: li.querySelector(".badge").textContent,
  stale: li.dataset.stale === "true",
  stale_shown: !li.querySelector('[data-testid="job-item-stale"]').hidden,
  ago: li.querySelector('[data-testid="job-item-ago"]').textContent,
}))
"""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?) (ms|s)$")


def duration_ms(text: str) -> float:
    """``"850 ms"`` -> 850, ``"3.2 s so far"`` -> 3200 (the short forms a quick test makes)."""
    found = _DURATION.match(text.removesuffix(" so far").removesuffix(" before retry"))
    if not found:
        raise AssertionError(f"not a short duration: {text!r}")
    value, unit = float(found.group(1)), found.group(2)
    return value if unit == "ms" else value * 1000


@dataclass(frozen=True)
class Row:
    """One status row of an attempt."""

    status: str
    kind: str
    marks: list[str]
    mark_texts: list[str]
    duration: str
    error: str | None
    task_id: str | None


@dataclass(frozen=True)
class Attempt:
    """One attempt's section: its number, outcome, whether unfolded, summary and rows."""

    attempt: int
    outcome: str
    open: bool
    summary: str
    rows: list[Row]

    @property
    def statuses(self) -> list[str]:
        """The statuses of the rows, in order."""
        return [r.status for r in self.rows]


@dataclass(frozen=True)
class ListItem:
    """One entry of the recent-jobs list."""

    job_id: str
    status: str
    stale: bool
    stale_shown: bool
    ago: str


def _attempt(raw: dict[str, Any]) -> Attempt:
    rows = [Row(**r) for r in raw.pop("rows")]
    return Attempt(rows=rows, **raw)


class TimelinePage:
    """The timeline, the live region and the job list of a page opened by a :class:`UiView`."""

    def __init__(self, view: UiView) -> None:
        self.view = view
        self.page = view.page

    def attempts(self) -> list[Attempt]:
        """Every attempt section the timeline shows, oldest first."""
        raw = self.page.eval_on_selector_all('[data-testid="timeline-attempt"]', READ_ATTEMPTS)
        return [_attempt(a) for a in raw]

    def wait_for(self, check: Any, what: str, timeout: float | None = None) -> list[Attempt]:
        """Wait until ``check(attempts)`` holds; returns the attempts that satisfied it."""
        found: list[list[Attempt]] = []

        def ready() -> bool:
            attempts = self.attempts()
            if attempts and check(attempts):
                found.append(attempts)
                return True
            return False

        self.view.wait_until(ready, timeout=timeout, what=what)
        return found[-1]

    def section(self, attempt: int) -> Locator:
        """The ``<details>`` of one attempt."""
        return self.page.locator(f'[data-testid="timeline-attempt"][data-attempt="{attempt}"]')

    def summary(self, attempt: int) -> Locator:
        """The ``<summary>`` that folds and unfolds one attempt."""
        return self.section(attempt).locator("summary")

    def list_items(self) -> list[ListItem]:
        """The recent-jobs list, top to bottom."""
        raw = self.page.eval_on_selector_all('[data-testid="job-item"]', READ_LIST)
        return [ListItem(**item) for item in raw]

    def list_item(self, job_id: str) -> ListItem | None:
        """One job's entry in the list, or ``None``."""
        return next((i for i in self.list_items() if i.job_id == job_id), None)

    def set_hidden(self, hidden: bool) -> None:
        """Make the page believe its tab was hidden (or shown again), as a browser tells it."""
        self.page.evaluate(
            """hidden => {
                const state = hidden ? "hidden" : "visible";
                const define = (name, value) =>
                    Object.defineProperty(document, name, { configurable: true, get: () => value });
                define("hidden", hidden);
                define("visibilityState", state);
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            hidden,
        )

    def focused_testid(self) -> str:
        """The ``data-testid`` of the focused element (or of its closest marked ancestor)."""
        return str(
            self.page.evaluate(
                """() => {
                    const el = document.activeElement;
                    const marked = el && el.closest("[data-testid]");
                    return marked ? marked.dataset.testid : "";
                }"""
            )
        )
