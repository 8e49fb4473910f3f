"""Pictures of the timeline and the live list, for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from harness.testing.redis.backend import RedisBackend
from pipeline.cleanup import mark_stale
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.shots import keep, shoot
from tests.ui.page.story import RESULT, advance
from tests.ui.page.timeline_page import TimelinePage

pytestmark = pytest.mark.ui

HAPPY = PRD_WORKFLOW.happy_path()


@pytest.fixture
def jobstate_settings(redis_backend: RedisBackend) -> Settings:
    """Function: the test's settings with a 2 s stale threshold, so the list can show one
    (and heartbeats at least twice as often, as the settings require)."""
    return redis_backend.settings.with_(stale_after_seconds=2, heartbeat_seconds=0.5)


def _step(view: UiView, store: JobStore, job_id: str, status: str, attempt: int) -> None:
    """Move the open job on once the page showed the previous status (real durations)."""
    task = f"{status.lower()[:5]}-{attempt}-{job_id[:8]}"
    advance(store, job_id, status, attempt=attempt, task_id=task)
    view.wait_for_status(status)


def test_screenshots_of_the_timeline_and_the_live_list(
    scripted_page: UiView,
    scripted_service: JobService,
    state_store: JobStore,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    view.page.set_viewport_size({"width": 1200, "height": 900})
    folder = tmp_path
    shots: list[Path] = []

    quiet = scripted_service.submit("https://media.example/quiet-feed.mp3", "space-2")["job_id"]
    advance(state_store, quiet, "DOWNLOADING")

    job_id = view.submit("https://media.example/episode-31.mp3", "space-31")
    _step(view, state_store, job_id, "DOWNLOADING", 1)
    # The download's message is delivered again (a worker child was lost), then it moves on.
    state_store.set_state(
        job_id, "DOWNLOADING", attempt=1, task_id=f"downl-1-{job_id[:8]}", max_runs=3
    )
    page.wait_for(lambda a: len(a[0].rows) == 3, what="the redelivery shown")
    _step(view, state_store, job_id, "TRANSCRIBING", 1)
    state_store.fail(job_id, "decoder gave up on frame 1312", attempt=1, stage="TRANSCRIBING")
    view.wait_for_status("ERROR")
    view.retry()
    view.wait_for_status("INIT")
    for status in HAPPY[1:-1]:
        _step(view, state_store, job_id, status, 2)
    advance(state_store, job_id, "COMPLETE", attempt=2, result=RESULT)
    view.wait_for_status("COMPLETE")
    page.wait_for(lambda a: len(a) == 2 and a[-1].outcome == "finished", what="two attempts")
    view.wait_until(
        lambda: (item := page.list_item(quiet)) is not None and item.stale,
        timeout=15,
        what="the quiet job marked stale in the list",
    )
    shots.append(shoot(view, folder, "4-timeline-folded"))
    page.summary(1).click()
    view.by_testid("show-task-ids").click()
    expect(view.page.get_by_test_id("row-task").first).to_be_visible()
    shots.append(shoot(view, folder, "5-timeline-unfolded"))

    assert mark_stale(state_store, older_than=0) == [quiet]
    view.open_job(quiet)
    view.wait_for_status("ERROR")
    page.wait_for(lambda a: a[0].outcome == "failed", what="the stale sweep shown")
    shots.append(shoot(view, folder, "6-timeline-stale-sweep"))

    keep(shots, pytestconfig.rootpath)
