"""Unknown and malformed job ids: a clear message, no spinner, no endless polling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from tests.ui.page.polls import PollLog

pytestmark = pytest.mark.ui


def test_unknown_job_says_not_found_and_stops(scripted_page: UiView) -> None:
    view = scripted_page
    log = PollLog(view.live.api_url("/api/jobs/no-such-job-42")).attach(view.page)
    view.open_job("no-such-job-42")
    view.wait_visible("not-found")
    expect(view.by_testid("not-found-text")).to_contain_text("no job with id “no-such-job-42”")
    expect(view.by_testid("not-found")).to_have_attribute("data-reason", "unknown")
    expect(view.by_testid("loading")).to_be_hidden()
    expect(view.by_testid("job-status")).to_have_text("")
    # Nothing to wait for but the clock: a stopped poller makes no request in 2.5 s.
    view.page.wait_for_timeout(2500)
    assert log.started == 1
    assert log.statuses == [404]


def test_malformed_job_id_is_named_as_such(scripted_page: UiView) -> None:
    view = scripted_page
    view.open_job("not a valid id!")
    view.wait_visible("not-found")
    expect(view.by_testid("not-found")).to_have_attribute("data-reason", "malformed")
    expect(view.by_testid("not-found-text")).to_have_text(
        "“not a valid id!” is not a valid job id."
    )
    expect(view.by_testid("loading")).to_be_hidden()
