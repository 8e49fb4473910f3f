"""The page follows a job through every status to its results."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.story import RESULT, advance, is_forward_subpath

pytestmark = pytest.mark.ui

HAPPY = PRD_WORKFLOW.happy_path()


def test_statuses_shown_in_turn_then_the_results(
    scripted_page: UiView, state_store: JobStore, enqueued: list[dict[str, object]]
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/talk.mp3", "space-7")
    view.wait_for_status("INIT")
    assert [c["job_id"] for c in enqueued] == [job_id]
    for status in HAPPY[1:-1]:
        advance(state_store, job_id, status)
        view.wait_for_status(status)
        expect(view.by_testid("job-message")).to_have_text(PRD_WORKFLOW.message(status))
        expect(view.by_testid("loading")).to_be_visible()
    advance(state_store, job_id, "COMPLETE", result=RESULT)
    view.wait_for_status("COMPLETE")
    view.wait_hidden("loading")

    seen = view.seen_statuses()
    assert seen == HAPPY, seen
    assert is_forward_subpath(seen, HAPPY)
    loading = view.seen_visible("loading")
    assert True in loading, loading
    assert loading[-1] is False, loading
    expect(view.by_testid("summary")).to_have_text(RESULT["summary"])
    expect(view.by_testid("transcript")).to_have_text(RESULT["transcript"])
    expect(view.by_testid("quotes").locator("li")).to_have_text(RESULT["quotes"])
    expect(view.by_testid("attempt")).to_have_text("1")
    expect(view.by_testid("job-space")).to_have_text("space-7")
    expect(view.by_testid("error-box")).to_be_hidden()


def test_download_progress_is_shown_while_running(
    scripted_page: UiView, state_store: JobStore, scripted_service: object
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/long.mp3")
    advance(
        state_store, job_id, "DOWNLOADING", progress={"bytes": 1024, "total": 4096, "percent": 25.0}
    )
    view.wait_for_status("DOWNLOADING")
    expect(view.by_testid("progress-text")).to_have_text("1.0 KB of 4.0 KB · 25%")
    state_store.progress(
        job_id, {"bytes": 3072, "total": 4096, "percent": 75.0}, attempt=1, status="DOWNLOADING"
    )
    expect(view.by_testid("progress-text")).to_have_text("3.0 KB of 4.0 KB · 75%")
    expect(view.by_testid("progress-bar")).to_have_attribute("value", "75")
    advance(state_store, job_id, "TRANSCRIBING")
    view.wait_for_status("TRANSCRIBING")
    expect(view.by_testid("progress")).to_be_hidden()


def test_a_job_opens_from_its_path_and_from_the_query(
    scripted_page: UiView, scripted_service: object, state_store: JobStore
) -> None:
    view = scripted_page
    job_id = view.submit("https://media.example/a.mp3")
    advance(state_store, job_id, "DOWNLOADING")
    for address in (f"/jobs/{job_id}", f"/?job={job_id}"):
        view.page.goto(view.live.url + address)
        view.wait_for_status("DOWNLOADING")
        expect(view.by_testid("job-id")).to_have_text(job_id)
    view.page.goto(view.live.url + "/")
    expect(view.by_testid("job-view")).to_be_hidden()
    item = view.by_testid("job-list").locator(f'[data-job-id="{job_id}"] a')
    item.click()
    view.wait_for_status("DOWNLOADING")


def test_progress_reads_the_same_way_at_its_bounds(scripted_page: UiView) -> None:
    """A worker's free-form progress, read by the page's one reader: counts become a
    percent of their total, clamped to 0-100; no total (or a zero one) gives no percent;
    a bare number up to 1 is a fraction, above 1 a percent."""
    cases = [
        ({"bytes_downloaded": 1024, "total_bytes": 4096}, 25, "1.0 KB of 4.0 KB · 25%"),
        ({"done": 3, "total": 3}, 100, "3 of 3 · 100%"),
        ({"done": 4, "total": 3}, 100, "4 of 3 · 100%"),
        ({"done": 1, "total": 0}, None, "1 of 0"),
        ({"done": 0, "total": 7}, 0, "0 of 7 · 0%"),
        ({"processed": 1, "total": 8}, 12.5, "1 of 8 · 13%"),
        ({"fraction": 0.5}, 50, "50%"),
        ({"percent": 150}, 100, "100%"),
        ({"percent": -3}, 0, "0%"),
        ({"stage": "decoding"}, None, "decoding"),
    ]
    shown = scripted_page.page.evaluate(
        """async (cases) => {
            const { describeProgress } = await import("/static/progress.js");
            return cases.map(([progress]) => describeProgress(progress));
        }""",
        [[progress] for progress, _, _ in cases],
    )
    for (progress, percent, text), got in zip(cases, shown, strict=True):
        assert got == {"percent": percent, "text": text}, (progress, got)
    numbers = scripted_page.page.evaluate(
        """async () => {
            const { describeProgress } = await import("/static/progress.js");
            return [0, 0.25, 1, 1.5, 2, 100, 101].map((n) => describeProgress(n).percent);
        }"""
    )
    assert numbers == [0, 25, 100, 1.5, 2, 100, 100]
