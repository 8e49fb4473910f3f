"""Redis stops for a few seconds mid-job: the page says so, then catches up."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.procs.redis_server import RedisServer
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.polls import PollLog
from tests.ui.page.story import RESULT, advance, is_forward_subpath

pytestmark = [pytest.mark.ui, pytest.mark.jobstate_redis("server")]


def test_page_reconnects_through_a_redis_outage(
    scripted_page: UiView, state_store: JobStore, redis_server: RedisServer
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/talk.mp3")
    log = PollLog(view.live.api_url(f"/api/jobs/{job_id}")).attach(view.page)
    advance(state_store, job_id, "DOWNLOADING")
    view.wait_for_status("DOWNLOADING")

    redis_server.stop()
    try:
        view.wait_visible("reconnecting", timeout=10)
        expect(view.by_testid("reconnecting-text")).to_contain_text("Reconnecting")
        expect(view.by_testid("job-status")).to_have_text("DOWNLOADING")  # kept, not guessed
        expect(view.by_testid("loading")).to_be_visible()
        view.wait_until(
            lambda: log.statuses.count(503) >= 2,
            timeout=20,
            what="two polls answered 503 while Redis is down",
        )
    finally:
        redis_server.start()

    advance(state_store, job_id, "TRANSCRIBING")  # the AOF kept the job through the stop
    view.wait_for_status("TRANSCRIBING", timeout=20)
    view.wait_hidden("reconnecting")
    for status in ("GENERATING_QUOTES", "GENERATING_SUMMARY"):
        advance(state_store, job_id, status)
    advance(state_store, job_id, "COMPLETE", result=RESULT)
    view.wait_for_status("COMPLETE")
    expect(view.by_testid("results")).to_be_visible()
    assert view.seen_visible("reconnecting")[-2:] == [True, False]
    assert log.max_in_flight == 1
    seen = view.seen_statuses()
    assert seen[:3] == ["INIT", "DOWNLOADING", "TRANSCRIBING"], seen
    assert seen[-1] == "COMPLETE", seen
    assert is_forward_subpath(seen, PRD_WORKFLOW.happy_path()), seen
