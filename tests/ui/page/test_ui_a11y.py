"""Accessibility: announced status changes, keyboard-only use, WCAG AA (axe-core in the page)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.cleanup import mark_stale
from pipeline.service import JobService
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.axe import axe_violations
from tests.ui.page.polls import PollLog
from tests.ui.page.story import RESULT, advance
from tests.ui.page.timeline_page import TimelinePage

pytestmark = pytest.mark.ui

HAPPY = PRD_WORKFLOW.happy_path()
MAX_TABS = 60

RECORD_ANNOUNCEMENTS = """() => {
  const region = document.querySelector('[data-testid="announcer"]');
  window.__announced = [];
  new MutationObserver(() => window.__announced.push(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
}"""


def _tab_stops(view: UiView, page: TimelinePage) -> list[str]:
    """Test ids reached by pressing Tab from the first control of the page, once round."""
    view.by_testid("home").focus()
    stops = [page.focused_testid()]
    for _ in range(MAX_TABS):
        view.page.keyboard.press("Tab")
        if view.page.evaluate("() => document.activeElement === document.body"):
            break
        stops.append(page.focused_testid())
    return stops


def _failed_twice_with_redelivery(store: JobStore, service: JobService) -> str:
    """A job whose first attempt was redelivered then swept stale, now failed again."""
    job_id = str(service.submit("https://media.example/talk.mp3", "space-9")["job_id"])
    advance(store, job_id, "DOWNLOADING", task_id="celery-dl-1")
    store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="celery-dl-1", max_runs=3)
    # The sweep takes jobs last written strictly before now: wait out the current ms.
    swept = wait_until(lambda: mark_stale(store, older_than=0), 5, what="stale sweep")
    assert swept == [job_id]
    service.retry(job_id)
    advance(store, job_id, "DOWNLOADING", attempt=2, task_id="celery-dl-2")
    advance(store, job_id, "TRANSCRIBING", attempt=2, task_id="celery-tr-2")
    store.fail(job_id, "decoder gave up on frame 12", attempt=2, stage="TRANSCRIBING")
    return job_id


def test_status_changes_are_announced_politely(
    scripted_page: UiView, state_store: JobStore
) -> None:
    view = scripted_page
    region = view.by_testid("announcer")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    # Exposed to screen readers: not inside anything hidden, not aria-hidden.
    assert view.page.evaluate(
        """() => {
            const region = document.querySelector('[data-testid="announcer"]');
            return region.closest("[hidden], [aria-hidden='true']") === null;
        }"""
    )
    view.page.evaluate(RECORD_ANNOUNCEMENTS)
    job_id = view.submit("https://media.example/talk.mp3")
    for status in HAPPY[1:-1]:
        advance(state_store, job_id, status)
        expect(region).to_have_text(f"Job status {status}: {PRD_WORKFLOW.message(status)}")
    state_store.fail(job_id, "summariser crashed", attempt=1, stage="GENERATING_SUMMARY")
    expect(region).to_have_text("Job status ERROR: GENERATING_SUMMARY: summariser crashed")

    said: list[str] = view.page.evaluate("() => window.__announced.slice()")
    announced = [text.split(":")[0].removeprefix("Job status ") for text in said if text]
    assert announced == [*HAPPY[:-1], "ERROR"], said


def test_every_control_is_reached_and_used_from_the_keyboard(
    scripted_page: UiView,
    state_store: JobStore,
    scripted_service: JobService,
    page_errors: list[str],
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    job_id = _failed_twice_with_redelivery(state_store, scripted_service)
    view.open_home()
    view.wait_until(lambda: job_id in view.job_list_ids(), what="job listed")

    stops = _tab_stops(view, page)
    for control in ("home", "url-input", "space-input", "submit", "refresh-list", "job-item"):
        assert control in stops, stops

    # Open the job from the list with Enter.
    link = view.page.locator(f'[data-job-id="{job_id}"] a')
    link.focus()
    view.page.keyboard.press("Enter")
    view.wait_for_status("ERROR")
    page.wait_for(lambda a: len(a) == 2 and a[-1].outcome == "failed", what="two attempts")
    stops = _tab_stops(view, page)
    for control in ("retry", "clear", "show-task-ids", "attempt-summary", "job-item"):
        assert control in stops, stops
    assert stops.count("attempt-summary") == 2, stops

    # Unfold the first attempt, show task ids, retry: all with keys only.
    page.summary(1).focus()
    view.page.keyboard.press("Space")
    expect(page.section(1)).to_have_attribute("open", "")
    view.by_testid("show-task-ids").focus()
    view.page.keyboard.press("Enter")
    expect(view.page.get_by_test_id("row-task").first).to_be_visible()
    view.by_testid("retry").focus()
    view.page.keyboard.press("Enter")
    expect(view.by_testid("attempt")).to_have_text("3")
    view.wait_for_status("INIT")
    assert page_errors == []


def test_keyboard_focus_survives_the_list_refreshing(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    first = scripted_service.submit("https://media.example/one.mp3")["job_id"]
    log = PollLog(view.live.api_url("/api/jobs?limit=20")).attach(view.page)
    view.wait_until(lambda: first in view.job_list_ids(), timeout=10, what="job listed")
    view.page.locator(f'[data-job-id="{first}"] a').focus()
    loads = log.finished
    second = scripted_service.submit("https://media.example/two.mp3")["job_id"]
    advance(state_store, first, "DOWNLOADING")
    view.wait_until(lambda: second in view.job_list_ids(), timeout=10, what="new job listed")
    view.wait_until(
        lambda: (item := page.list_item(first)) is not None and item.status == "DOWNLOADING",
        timeout=10,
        what="the focused job's status updated",
    )
    assert log.finished > loads
    focused: Any = view.page.evaluate("() => document.activeElement.closest('li')?.dataset.jobId")
    assert focused == first, "a list refresh took the keyboard focus away"
    assert view.job_list_ids()[:2] == [second, first]


def test_pages_meet_wcag_aa(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    failed = _failed_twice_with_redelivery(state_store, scripted_service)
    done = scripted_service.submit("https://media.example/done.mp3")["job_id"]
    for status in HAPPY[1:-1]:
        advance(state_store, done, status, task_id=f"celery-{status.lower()}")
    advance(state_store, done, "COMPLETE", result=RESULT)
    running = scripted_service.submit("https://media.example/running.mp3")["job_id"]
    advance(state_store, running, "DOWNLOADING", progress={"bytes": 512, "total": 2048})

    view.open_home()
    view.wait_until(lambda: len(view.job_list_ids()) == 3, what="three jobs listed")
    assert axe_violations(view.page) == []

    view.open_job(failed)
    view.wait_for_status("ERROR")
    page.wait_for(lambda a: len(a) == 2, what="two attempts")
    page.summary(1).click()
    view.by_testid("show-task-ids").click()
    expect(view.page.get_by_test_id("row-mark")).to_have_count(3)  # redelivered, stale, retry
    assert axe_violations(view.page) == []

    view.open_job(done)
    view.wait_for_status("COMPLETE")
    page.wait_for(lambda a: a[-1].outcome == "finished", what="finished attempt")
    assert axe_violations(view.page) == []

    view.open_job(running)
    view.wait_for_status("DOWNLOADING")
    page.wait_for(lambda a: a[-1].outcome == "running", what="running attempt")
    assert axe_violations(view.page) == []
