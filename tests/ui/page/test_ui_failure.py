"""A failure reaches the page with its stage; Retry starts attempt 2; Clear removes the job."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.story import RESULT, advance

pytestmark = pytest.mark.ui

HAPPY = PRD_WORKFLOW.happy_path()


def test_error_then_retry_reaches_complete_on_attempt_two(
    scripted_page: UiView, state_store: JobStore, enqueued: list[dict[str, Any]]
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/talk.mp3")
    for status in ("DOWNLOADING", "TRANSCRIBING"):
        advance(state_store, job_id, status)
        view.wait_for_status(status)
    state_store.fail(job_id, "decoder gave up on frame 12", attempt=1, stage="TRANSCRIBING")

    view.wait_for_status("ERROR")
    error = view.by_testid("job-error")
    expect(error).to_have_text("TRANSCRIBING: decoder gave up on frame 12")
    expect(view.by_testid("failed-stage")).to_have_text(" during TRANSCRIBING")
    expect(view.by_testid("loading")).to_be_hidden()
    expect(view.by_testid("retry")).to_be_visible()
    expect(view.by_testid("clear")).to_be_visible()

    view.by_testid("retry").dblclick()  # a double click must start one attempt, not two
    expect(view.by_testid("attempt")).to_have_text("2")
    view.wait_for_status("INIT")
    expect(view.by_testid("error-box")).to_be_hidden()
    expect(view.by_testid("loading")).to_be_visible()
    view.wait_until(lambda: len(enqueued) == 2, what="attempt 2 enqueued")
    assert [c["attempt"] for c in enqueued] == [1, 2]

    for status in HAPPY[1:-1]:
        advance(state_store, job_id, status, attempt=2)
        view.wait_for_status(status)
    advance(state_store, job_id, "COMPLETE", attempt=2, result=RESULT)
    view.wait_for_status("COMPLETE")
    expect(view.by_testid("results")).to_be_visible()
    expect(view.by_testid("attempt")).to_have_text("2")
    assert state_store.get_state(job_id)["attempt"] == 2
    assert view.seen_statuses() == [
        "INIT",
        "DOWNLOADING",
        "TRANSCRIBING",
        "ERROR",
        *HAPPY,
    ]


def test_clear_removes_the_failed_job(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    other = scripted_service.submit("https://media.example/other.mp3")["job_id"]
    job_id = view.submit("https://media.example/broken.mp3")
    advance(state_store, job_id, "DOWNLOADING")
    state_store.fail(job_id, "host refused the connection", attempt=1, stage="DOWNLOADING")
    view.wait_for_status("ERROR")
    view.wait_until(lambda: job_id in view.job_list_ids(), what="failed job listed")

    view.clear()
    view.wait_visible("cleared")
    expect(view.by_testid("job-status")).to_have_text("")
    expect(view.by_testid("error-box")).to_be_hidden()
    view.wait_until(lambda: job_id not in view.job_list_ids(), what="job gone from the list")
    assert other in view.job_list_ids()
    assert state_store.find_state(job_id) is None

    view.page.reload()
    view.wait_visible("not-found")


def test_retry_of_a_job_that_moved_on_says_why(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/talk.mp3")
    state_store.fail(job_id, "worker lost", attempt=1)
    view.wait_for_status("ERROR")
    scripted_service.retry(job_id)  # someone else retried first
    view.retry()
    expect(view.by_testid("action-error")).to_contain_text("cannot go from INIT")
    view.wait_for_status("INIT")
    expect(view.by_testid("attempt")).to_have_text("2")
