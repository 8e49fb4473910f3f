"""The reference job page, read and driven through Playwright (no pytest in here).

:class:`UiView` is :class:`~harness.testing.browser.page_view.PageView` for the page ``ui/``
serves. The
``data-testid`` attributes in :data:`UiView.CONTRACT` are a contract between that page
and its tests: the page keeps them, and a test checks every one is on the page. For
your own page, subclass :class:`~harness.testing.browser.page_view.PageView` instead and name your
ids.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.testing.browser.page_view import PAGE_RECORDER, PageView

__all__ = ["CONTRACT", "PAGE_RECORDER", "TEXT_IDS", "VISIBILITY_IDS", "UiView"]

CONTRACT: dict[str, str] = {
    "home": "the home view: form and recent jobs",
    "submit-form": "the new-job form",
    "url-input": "the form's media URL field",
    "space-input": "the form's space id field",
    "submit": "the form's send button",
    "submit-error": "why the form was refused (hidden when it was not)",
    "job-list": "recent jobs, newest first",
    "job-item": "one recent job (data-job-id)",
    "job-view": "one job's view (data-job-id, data-status, data-version)",
    "job-status": "the job's status",
    "job-message": "the status message",
    "loading": "the loading indicator, shown while the job runs",
    "progress-text": "the running stage's progress",
    "reconnecting": "shown while the API or Redis does not answer",
    "reconnecting-text": "what the page says while reconnecting",
    "not-found": "shown for an unknown job",
    "error-box": "the failure: stage, error text and the Retry and Clear buttons",
    "failed-stage": "the stage that failed",
    "job-error": "the error text",
    "retry": "the Retry button",
    "clear": "the Clear button",
    "results": "the finished job's results",
    "summary": "the summary result",
    "quotes": "the quotes result",
    "transcript": "the transcript result",
    "attempt": "the attempt number",
    "timeline": "every recorded change of the job",
}
"""Test id -> what the element shows. The page keeps these; tests rely on nothing else."""

TEXT_IDS = (
    "job-status",
    "job-message",
    "job-error",
    "attempt",
    "progress-text",
    "reconnecting-text",
)
VISIBILITY_IDS = ("loading", "reconnecting", "not-found", "error-box", "results")


class UiView(PageView):
    """Open jobs, read what the reference page shows and click its buttons."""

    STATUS_ID: ClassVar[str] = "job-status"
    TEXT_IDS: ClassVar[tuple[str, ...]] = TEXT_IDS
    VISIBILITY_IDS: ClassVar[tuple[str, ...]] = VISIBILITY_IDS
    JOB_PATH: ClassVar[str] = "/#/jobs/{job_id}"
    CONTRACT: ClassVar[dict[str, str]] = CONTRACT

    def job_list_ids(self) -> list[str]:
        """Job ids in the recent-jobs list, top to bottom."""
        ids = self.page.eval_on_selector_all(
            '[data-testid="job-item"]', "items => items.map(i => i.dataset.jobId)"
        )
        return [str(i) for i in ids]

    def story(self) -> str:
        """The statuses, messages and errors the page showed (for a failed test's report)."""
        return "\n".join(
            [
                f"url: {self.page.url}",
                f"statuses: {self.seen_statuses()}",
                f"messages: {self.seen_texts('job-message')}",
                f"errors: {self.seen_texts('job-error')}",
            ]
        )

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
        return self.attributes("job-view")
