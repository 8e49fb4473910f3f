"""One damaged record never breaks the page: the job still shows, the list still lists.

A lone surrogate in a stored ``progress`` once made ``GET /api/jobs/{id}`` and
``GET /api/jobs`` answer 500, so the page sat on "Reconnecting…" and the job list failed
for everyone. The store now refuses such values and reads old ones safely; this checks
what a person sees, in a real browser. Credentials in a job's URL never reach the page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.story import advance

pytestmark = pytest.mark.ui


def test_a_record_damaged_in_redis_still_shows_and_lists(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    good = scripted_service.submit("https://media.example/good.mp3")["job_id"]
    bad = scripted_service.submit("https://media.example/bad.mp3")["job_id"]
    advance(state_store, bad, "DOWNLOADING")
    # Written behind the store's back, as an older version or a hand edit could.
    state_store.client.hset(state_store.keys.state(bad), "progress", '{"detail":"x\\ud800y"}')
    view.open_job(bad)
    view.wait_for_status("DOWNLOADING")
    expect(view.by_testid("reconnecting")).to_be_hidden()
    view.wait_until(lambda: {good, bad} <= set(view.job_list_ids()), what="both jobs listed")
    advance(state_store, bad, "TRANSCRIBING")
    view.wait_for_status("TRANSCRIBING")
    assert "Reconnecting" not in view.page.inner_text("body")


def test_a_urls_credentials_never_reach_the_page(
    scripted_page: UiView, scripted_service: JobService
) -> None:
    view = scripted_page
    job_id = scripted_service.submit("https://alice:s3cret@media.example/a.mp3")["job_id"]
    view.open_job(job_id)
    view.wait_for_status("INIT")
    expect(view.by_testid("job-url")).to_have_text("https://***@media.example/a.mp3")
    view.wait_until(lambda: job_id in view.job_list_ids(), what="job listed")
    assert "s3cret" not in view.page.content()
    assert "alice" not in view.page.content()


def test_a_failed_job_whose_error_text_was_lost_still_offers_retry_and_clear(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    """The store never writes an error without its text, but an older version or a hand
    edit can leave one: what decides the error box is that the job failed."""
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING")
    state_store.fail(job_id, "broke", attempt=1, stage="DOWNLOADING")
    state_store.client.hset(state_store.keys.state(job_id), "error", "")  # behind its back
    assert state_store.get_state(job_id)["error"] in ("", None)
    view.open_job(job_id)
    view.wait_for_status("ERROR")
    expect(view.by_testid("error-box")).to_be_visible()
    expect(view.by_testid("job-error")).to_have_text("The job failed without an error message.")
    expect(view.by_testid("retry")).to_be_visible()
    expect(view.by_testid("clear")).to_be_visible()
