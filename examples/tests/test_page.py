"""The resizer's own page in a real browser, on a real worker and a real redis-server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness.live_ui import LiveUi
from harness.recorder import StateRecorder
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.jobstate_celery("prefork"), pytest.mark.jobstate_redis("server")]


def _submit(page: Page, live_ui: LiveUi, image: str, width: str, height: str) -> None:
    page.goto(live_ui.url + "/resize/")
    page.get_by_test_id("image").fill(image)
    page.get_by_test_id("width").fill(width)
    page.get_by_test_id("height").fill(height)
    page.get_by_test_id("submit").click()


def test_the_page_submits_a_job_and_shows_it_done(
    page: Page,
    live_ui: LiveUi,
    state_recorder: StateRecorder,
    image: str,
    uploaded_size: Callable[[str], tuple[int, int]],
) -> None:
    _submit(page, live_ui, image, "40", "30")
    expect(page.get_by_test_id("status")).to_have_text("DONE", timeout=30_000)
    expect(page.get_by_test_id("message")).to_have_text("Resized")
    expect(page.get_by_test_id("result")).to_contain_text('"size":[40,30]')
    [job] = live_ui.service.list()
    assert uploaded_size(job["job_id"]) == (40, 30)
    state_recorder.track(job["job_id"])
    state_recorder.assert_path(job["job_id"], ["QUEUED", "RESIZING", "UPLOADING", "DONE"])


def test_the_page_shows_why_an_input_is_refused(page: Page, live_ui: LiveUi, image: str) -> None:
    _submit(page, live_ui, image, "0", "30")
    expect(page.get_by_test_id("error")).to_have_text(
        "input.width: 0 is not a whole number of pixels, 1-4096"
    )
    expect(page.get_by_test_id("status")).to_have_text("-")
    assert live_ui.service.list() == []
