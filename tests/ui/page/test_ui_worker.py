"""The page on a real Celery worker running the real pipeline on the bundled speech sample."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from harness.testing.chaos.injector import FaultInjector
from pipeline.sample_server import SampleServer
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.story import is_forward_subpath
from tests.ui.page.timeline_page import TimelinePage

MODES = [
    pytest.param("thread", id="thread", marks=[pytest.mark.jobstate_celery("thread")]),
    pytest.param(
        "prefork", id="prefork", marks=[pytest.mark.prefork, pytest.mark.jobstate_celery("prefork")]
    ),
]

pytestmark = [pytest.mark.ui, pytest.mark.jobstate_redis("server")]

WORKER_TIMEOUT = 120


@pytest.mark.parametrize("mode", MODES)
def test_real_worker_statuses_reach_complete_in_the_page(
    mode: str, ui_page: UiView, jobstate_worker: Any, media_server: SampleServer
) -> None:
    job_id = ui_page.submit(media_server.url, "space-1")
    ui_page.wait_for_status("COMPLETE", timeout=WORKER_TIMEOUT)
    ui_page.wait_hidden("loading")
    seen = ui_page.seen_statuses()
    # A real worker may move on before the first answer reaches the page, so the page
    # shows a legal forward sub-path of the story, ending at COMPLETE.
    assert len(seen) >= 2, seen
    assert seen[-1] == "COMPLETE", seen
    assert is_forward_subpath(seen, PRD_WORKFLOW.happy_path()), seen
    assert ui_page.seen_visible("loading")[-1] is False
    assert True in ui_page.seen_visible("loading")
    expect(ui_page.by_testid("transcript")).not_to_be_empty()
    expect(ui_page.by_testid("summary")).not_to_be_empty()
    assert ui_page.live.service.get(job_id)["status"] == "COMPLETE"


@pytest.mark.parametrize("mode", MODES)
def test_real_worker_failure_then_retry_in_the_page(
    mode: str,
    ui_page: UiView,
    jobstate_worker: Any,
    media_server: SampleServer,
    fault_injector: FaultInjector,
) -> None:
    fault_injector.fail_at("TRANSCRIBING")
    ui_page.submit(media_server.url)
    ui_page.wait_for_status("ERROR", timeout=WORKER_TIMEOUT)
    expect(ui_page.by_testid("job-error")).to_contain_text("TRANSCRIBING")
    expect(ui_page.by_testid("failed-stage")).to_have_text(" during TRANSCRIBING")
    ui_page.retry()
    expect(ui_page.by_testid("attempt")).to_have_text("2")
    ui_page.wait_for_status("COMPLETE", timeout=WORKER_TIMEOUT)
    expect(ui_page.by_testid("results")).to_be_visible()


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
def test_a_stage_redelivered_after_a_killed_child_shows_in_the_timeline(
    ui_page: UiView,
    jobstate_worker: Any,
    media_server: SampleServer,
    fault_injector: FaultInjector,
) -> None:
    timeline = TimelinePage(ui_page)
    fault_injector.kill_child_at("TRANSCRIBING", times=1)
    ui_page.submit(media_server.url)
    ui_page.wait_for_status("COMPLETE", timeout=WORKER_TIMEOUT)
    [attempt] = timeline.wait_for(
        lambda a: a[0].outcome == "finished", what="the finished attempt in the timeline"
    )
    transcribing = [row for row in attempt.rows if row.status == "TRANSCRIBING"]
    assert [row.marks for row in transcribing] == [[], ["redelivered"]], attempt.rows
    assert transcribing[1].mark_texts == ["redelivered (delivery 2)"]
    assert "1 redelivery" in attempt.summary
    assert attempt.statuses[-1] == "COMPLETE"
