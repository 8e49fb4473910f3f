"""Read and drive the job page through Playwright (no pytest in here).

:class:`UiView` wraps a Playwright ``Page`` opened on a :class:`~harness.live_ui.LiveUi`.
Its page recorder (an init script with a ``MutationObserver``) keeps every distinct text
the status, message, error and attempt elements showed, and every change of visibility
of the loading, reconnecting and not-found elements, so a test can check the story the
page told, not just where it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page, expect

from harness.live_ui import LiveUi

__all__ = ["PAGE_RECORDER", "TEXT_IDS", "VISIBILITY_IDS", "UiView"]

T = TypeVar("T")

TEXT_IDS = (
    "job-status",
    "job-message",
    "job-error",
    "attempt",
    "progress-text",
    "reconnecting-text",
)
VISIBILITY_IDS = ("loading", "reconnecting", "not-found", "error-box", "results")

PAGE_RECORDER = """
(() => {
  const textIds = %(text)s;
  const visibilityIds = %(visible)s;
  const seen = { texts: {}, visible: {}, violations: [] };
  window.__jobstateSeen = seen;
  const find = (id) => document.querySelector(`[data-testid="${id}"]`);
  const push = (list, value) => { if (list.at(-1) !== value) list.push(value); };
  function snapshot() {
    for (const id of textIds) {
      const el = find(id);
      const text = el ? el.textContent.trim() : "";
      if (text) push(seen.texts[id] ??= [], text);
    }
    for (const id of visibilityIds) {
      const el = find(id);
      push(seen.visible[id] ??= [], Boolean(el) && el.closest("[hidden]") === null);
    }
  }
  document.addEventListener("securitypolicyviolation", (event) => {
    seen.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
  function start() {
    snapshot();
    new MutationObserver(snapshot).observe(document.documentElement, {
      subtree: true, childList: true, characterData: true,
      attributes: true, attributeFilter: ["hidden"],
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
"""


def _recorder_script() -> str:
    def js_list(ids: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in ids) + "]"

    return PAGE_RECORDER % {"text": js_list(TEXT_IDS), "visible": js_list(VISIBILITY_IDS)}


class UiView:
    """Helpers to open jobs, read what the page shows and click its buttons.

    ``timeout`` (seconds) bounds every wait unless a call passes its own.
    """

    def __init__(self, page: Page, live: LiveUi, timeout: float = 15.0) -> None:
        self.page = page
        self.live = live
        self.timeout = timeout
        self._recording = False

    # -- navigation -----------------------------------------------------------------

    def record(self) -> UiView:
        """Install the page recorder for every document the page loads from now on."""
        if not self._recording:
            self.page.add_init_script(_recorder_script())
            self._recording = True
        return self

    def open_home(self) -> UiView:
        """Load the home view (form and job list)."""
        self.page.goto(self.live.url + "/")
        return self

    def open_job(self, job_id: str) -> UiView:
        """Load the page on one job (``/#/jobs/<id>``)."""
        self.page.goto(self.live.job_url(job_id))
        return self

    # -- reading --------------------------------------------------------------------

    def by_testid(self, testid: str) -> Locator:
        """The element with ``data-testid=testid``."""
        return self.page.get_by_test_id(testid)

    def text(self, testid: str) -> str:
        """The visible text of one element."""
        return self.by_testid(testid).inner_text().strip()

    def status(self) -> str:
        """The status the page shows now."""
        return self.text("job-status")

    def job_list_ids(self) -> list[str]:
        """Job ids in the recent-jobs list, top to bottom."""
        ids = self.page.eval_on_selector_all(
            '[data-testid="job-item"]', "items => items.map(i => i.dataset.jobId)"
        )
        return [str(i) for i in ids]

    def seen_texts(self, testid: str = "job-status") -> list[str]:
        """Every distinct text the element showed since the page loaded, in order."""
        texts = self.page.evaluate("id => (window.__jobstateSeen?.texts[id] ?? []).slice()", testid)
        return [str(t) for t in texts]

    def seen_statuses(self) -> list[str]:
        """Every status the page displayed, in order (consecutive repeats collapsed)."""
        return self.seen_texts("job-status")

    def seen_visible(self, testid: str) -> list[bool]:
        """The visibility history of a recorded element (``loading``, ``reconnecting``...)."""
        values = self.page.evaluate(
            "id => (window.__jobstateSeen?.visible[id] ?? []).slice()", testid
        )
        return [bool(v) for v in values]

    def csp_violations(self) -> list[str]:
        """Content-Security-Policy violations the page reported (blocked script, ...)."""
        values = self.page.evaluate("() => (window.__jobstateSeen?.violations ?? []).slice()")
        return [str(v) for v in values]

    # -- waiting --------------------------------------------------------------------

    def _ms(self, timeout: float | None) -> float:
        return (self.timeout if timeout is None else timeout) * 1000

    def wait_for_status(self, status: str, timeout: float | None = None) -> None:
        """Wait until the page shows ``status``."""
        expect(self.by_testid("job-status")).to_have_text(status, timeout=self._ms(timeout))

    def wait_visible(self, testid: str, timeout: float | None = None) -> Locator:
        """Wait until an element is visible; returns it."""
        locator = self.by_testid(testid)
        expect(locator).to_be_visible(timeout=self._ms(timeout))
        return locator

    def wait_hidden(self, testid: str, timeout: float | None = None) -> None:
        """Wait until an element is hidden (or gone)."""
        expect(self.by_testid(testid)).to_be_hidden(timeout=self._ms(timeout))

    def wait_until(
        self, check: Callable[[], T], timeout: float | None = None, what: str = "condition"
    ) -> T:
        """Re-check ``check`` while the page keeps processing events; fail after ``timeout``.

        For conditions outside the DOM (requests seen, calls recorded); DOM conditions
        use :meth:`wait_for_status` and friends.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not met within {timeout or self.timeout:g} s")
            self.page.wait_for_timeout(50)  # lets Playwright deliver events between checks

    # -- acting ---------------------------------------------------------------------

    def submit(self, url: str, space_id: str | None = None) -> str:
        """Fill and send the form; returns the new job's id once the page opened it."""
        self.by_testid("url-input").fill(url)
        self.by_testid("space-input").fill(space_id or "")
        self.by_testid("submit").click()
        self.page.wait_for_url("**/#/jobs/*", timeout=self._ms(None))
        job_id = self.by_testid("job-view").get_attribute("data-job-id")
        if not job_id:
            raise AssertionError("the page opened no job after submitting")
        return job_id

    def submit_expecting_error(self, url: str, space_id: str | None = None) -> str:
        """Send the form with bad input; returns the error text the page shows."""
        self.by_testid("url-input").fill(url)
        self.by_testid("space-input").fill(space_id or "")
        self.by_testid("submit").click()
        return self.wait_visible("submit-error").inner_text()

    def retry(self) -> None:
        """Click Retry."""
        self.by_testid("retry").click()

    def clear(self) -> None:
        """Click Clear."""
        self.by_testid("clear").click()

    def state(self) -> dict[str, Any]:
        """The job view's ``data-*`` attributes (job id, status, version)."""
        data = self.by_testid("job-view").evaluate("el => ({...el.dataset})")
        return dict(data)
