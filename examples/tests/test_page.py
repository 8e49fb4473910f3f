"""The resizer's own page in a real browser, on a real worker and a real redis-server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness.testing.browser.page_view import PageView
from harness.testing.recorder import StateRecorder
from playwright.sync_api import expect

from resizer.workflow import RESIZE

pytestmark = [pytest.mark.jobstate_celery("prefork"), pytest.mark.jobstate_redis("server")]


class ResizePage(PageView):
    """The resize page's test ids: the contract between ``resizer/static`` and these tests."""

    STATUS_ID = "status"
    TEXT_IDS = ("status", "message", "error", "result")

    def open_home(self) -> ResizePage:
        """Load the resize page."""
        self.page.goto(self.live.url + "/resize/")
        return self

    def submit(self, image: str, width: int, height: int) -> None:
        """Fill in the form and send it."""
        self.by_testid("image").fill(image)
        self.by_testid("width").fill(str(width))
        self.by_testid("height").fill(str(height))
        self.by_testid("submit").click()


@pytest.fixture
def ui_view_class() -> type[PageView]:
    """Function: ``ui_page`` is our page, not the reference one."""
    return ResizePage


def test_the_page_submits_a_job_and_shows_it_done(
    ui_page: ResizePage,
    state_recorder: StateRecorder,
    image: str,
    uploaded_size: Callable[[str], tuple[int, int]],
) -> None:
    ui_page.submit(image, 40, 30)
    ui_page.wait_for_status("DONE", timeout=30)
    assert ui_page.text("message") == "Resized"
    assert '"size":[40,30]' in ui_page.text("result")
    seen = ui_page.seen_statuses()
    assert seen[0] == "QUEUED"
    assert set(seen) <= set(RESIZE.happy_path())
    [job] = ui_page.live.service.list()
    assert uploaded_size(job["job_id"]) == (40, 30)
    state_recorder.track(job["job_id"])
    state_recorder.assert_path(job["job_id"], RESIZE.happy_path())


def test_the_page_shows_why_an_input_is_refused(ui_page: ResizePage, image: str) -> None:
    ui_page.submit(image, 0, 30)
    expect(ui_page.by_testid("error")).to_have_text(
        "input.width: 0 is not a whole number of pixels, 1-4096"
    )
    assert ui_page.status() == ""
    assert ui_page.live.service.list() == []
