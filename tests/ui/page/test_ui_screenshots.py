"""Pictures of the job view while running, at ERROR and at COMPLETE, for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.shots import keep, shoot
from tests.ui.page.story import RESULT, advance

pytestmark = pytest.mark.ui


def test_screenshots_of_running_error_and_complete(
    scripted_page: UiView,
    scripted_service: JobService,
    state_store: JobStore,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    view = scripted_page
    view.page.set_viewport_size({"width": 1200, "height": 900})
    folder = tmp_path
    shots: list[Path] = []

    failed = scripted_service.submit("https://media.example/broken-feed.mp3", "space-3")
    advance(state_store, failed["job_id"], "DOWNLOADING")
    state_store.fail(
        failed["job_id"], "host refused the connection (503)", attempt=1, stage="DOWNLOADING"
    )
    job_id = view.submit("https://media.example/episode-12.mp3", "space-12")
    advance(
        state_store,
        job_id,
        "DOWNLOADING",
        progress={"bytes": 3_400_000, "total": 8_000_000, "percent": 42.5},
    )
    view.wait_for_status("DOWNLOADING")
    expect(view.by_testid("progress-text")).to_contain_text("43%")
    shots.append(shoot(view, folder, "1-running"))

    view.open_job(failed["job_id"])
    view.wait_for_status("ERROR")
    expect(view.by_testid("failed-stage")).to_have_text(" during DOWNLOADING")
    shots.append(shoot(view, folder, "2-error"))

    view.open_job(job_id)
    for status in ("TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"):
        advance(state_store, job_id, status)
    advance(state_store, job_id, "COMPLETE", result=RESULT)
    view.wait_for_status("COMPLETE")
    shots.append(shoot(view, folder, "3-complete"))

    keep(shots, pytestconfig.rootpath)
