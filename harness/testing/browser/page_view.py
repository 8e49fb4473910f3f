"""A page object for any job page, driven through Playwright (no pytest in here).

:class:`PageView` knows a page only by its ``data-testid`` attributes, declared as class
attributes: subclass it for your own page, name your ids, and every helper follows::

    class MyJobPage(PageView):
        STATUS_ID = "state"
        TEXT_IDS = ("state", "note")
        VISIBILITY_IDS = ("spinner",)
        JOB_PATH = "/jobs/{job_id}"

Its page recorder (an init script with a ``MutationObserver``) keeps every distinct text
the ``TEXT_IDS`` elements showed and every change of visibility of the
``VISIBILITY_IDS`` elements, so a test can check the story the page told, not just
where it ended. Use it in tests through the ``ui_page`` fixture (its class comes from the
``ui_view_class`` fixture) or build it on ``live_ui``: ``MyJobPage(page, live_ui)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar
from urllib.parse import quote

from playwright.sync_api import Locator, Page, expect

from pipeline.waiting import wait_until

if TYPE_CHECKING:  # the web stack loads only when a test serves the UI
    from harness.testing.browser.live_ui import LiveUi

__all__ = ["PAGE_RECORDER", "PageView", "recorder_script"]

T = TypeVar("T")

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


def recorder_script(text_ids: tuple[str, ...], visibility_ids: tuple[str, ...]) -> str:
    """The page recorder for these element ids."""

    def js_list(ids: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in ids) + "]"

    return PAGE_RECORDER % {"text": js_list(text_ids), "visible": js_list(visibility_ids)}


class PageView:
    """Open, read and wait on a job page by its test ids; subclass it for your own page.

    The class attributes are the page's contract: ``STATUS_ID`` shows the job's status,
    ``TEXT_IDS`` are recorded texts, ``VISIBILITY_IDS`` recorded visibility, and
    ``JOB_PATH`` is where one job is shown. ``timeout`` (seconds) bounds every wait unless
    a call passes its own.
    """

    STATUS_ID: ClassVar[str] = "job-status"
    TEXT_IDS: ClassVar[tuple[str, ...]] = ("job-status",)
    VISIBILITY_IDS: ClassVar[tuple[str, ...]] = ()
    JOB_PATH: ClassVar[str] = "/#/jobs/{job_id}"

    def __init__(self, page: Page, live: LiveUi, timeout: float = 15.0) -> None:
        self.page = page
        self.live = live
        self.timeout = timeout
        self._recording = False

    # -- navigation -----------------------------------------------------------------

    def record(self) -> Self:
        """Install the page recorder for every document the page loads from now on."""
        if not self._recording:
            self.page.add_init_script(recorder_script(self.TEXT_IDS, self.VISIBILITY_IDS))
            self._recording = True
        return self

    def open_home(self) -> Self:
        """Load the app's home view (``/``)."""
        self.page.goto(self.live.url + "/")
        return self

    def open_job(self, job_id: str) -> Self:
        """Load the page on one job (``JOB_PATH``)."""
        self.page.goto(self.live.url + self.JOB_PATH.format(job_id=quote(job_id, safe="")))
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
        return self.text(self.STATUS_ID)

    def seen_texts(self, testid: str | None = None) -> list[str]:
        """Every distinct text a recorded element showed since the page loaded, in order."""
        texts = self.page.evaluate(
            "id => (window.__jobstateSeen?.texts[id] ?? []).slice()", testid or self.STATUS_ID
        )
        return [str(t) for t in texts]

    def seen_statuses(self) -> list[str]:
        """Every status the page displayed, in order (consecutive repeats collapsed)."""
        return self.seen_texts(self.STATUS_ID)

    def seen_visible(self, testid: str) -> list[bool]:
        """The visibility history of a recorded element."""
        values = self.page.evaluate(
            "id => (window.__jobstateSeen?.visible[id] ?? []).slice()", testid
        )
        return [bool(v) for v in values]

    def csp_violations(self) -> list[str]:
        """Content-Security-Policy violations the page reported (blocked script, ...)."""
        values = self.page.evaluate("() => (window.__jobstateSeen?.violations ?? []).slice()")
        return [str(v) for v in values]

    def story(self) -> str:
        """What the page showed, for a failed test's report."""
        lines = [f"url: {self.page.url}"]
        lines += [f"{testid}: {self.seen_texts(testid)}" for testid in self.TEXT_IDS]
        return "\n".join(lines)

    # -- waiting --------------------------------------------------------------------

    def _ms(self, timeout: float | None) -> float:
        return (self.timeout if timeout is None else timeout) * 1000

    def wait_for_status(self, status: str, timeout: float | None = None) -> None:
        """Wait until the page shows ``status``."""
        expect(self.by_testid(self.STATUS_ID)).to_have_text(status, timeout=self._ms(timeout))

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
        limit = self.timeout if timeout is None else timeout
        return wait_until(
            check,
            limit,
            what=what,
            fail=AssertionError,
            # Playwright delivers the page's events only while it is waiting on the page.
            pause=lambda seconds: self.page.wait_for_timeout(seconds * 1000),
        )

    def attributes(self, testid: str) -> dict[str, Any]:
        """An element's ``data-*`` attributes."""
        data = self.by_testid(testid).evaluate("el => ({...el.dataset})")
        return dict(data)
