"""What the step bar and the list's badges say, for a running, a finished and a failed job.

They are how a person tells at a glance where a job is and whether it failed: each is
read from the page as data (the classes that colour it) and checked against the job.
"""

from __future__ import annotations

import pytest

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.story import RESULT, advance

pytestmark = pytest.mark.ui

STAGES = ["DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"]

READ_STEPS = """els => els.map(li => [li.dataset.status, li.className])"""


def _steps(view: UiView) -> dict[str, str]:
    pairs = view.page.locator('[data-testid="steps"] li').evaluate_all(READ_STEPS)
    return dict(pairs)


def _badge(view: UiView, job_id: str) -> str:
    return str(view.page.locator(f'li[data-job-id="{job_id}"] .badge').get_attribute("class"))


def _expected(path: list[str], here: str, mark: str) -> dict[str, str]:
    at = path.index(here)
    return {
        s: "step done" if i < at else (f"step {mark}" if i == at else "step")
        for i, s in enumerate(path)
    }


def test_the_step_bar_and_the_badge_say_where_each_job_is(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    running = scripted_service.submit("https://media.example/running.mp3")["job_id"]
    failed = scripted_service.submit("https://media.example/failed.mp3")["job_id"]
    done = scripted_service.submit("https://media.example/done.mp3")["job_id"]
    for status in STAGES[:2]:
        advance(state_store, running, status)
    for status in STAGES[:3]:
        advance(state_store, failed, status)
    state_store.fail(failed, "no quotes", attempt=1, stage="GENERATING_QUOTES")
    for status in STAGES:
        advance(state_store, done, status)
    advance(state_store, done, "COMPLETE", result=RESULT)

    view.open_job(running)
    view.wait_for_status("TRANSCRIBING")
    path = list(_steps(view))
    assert set(STAGES) <= set(path), path
    view.wait_until(lambda: _steps(view) == _expected(path, "TRANSCRIBING", "current"))

    view.open_job(failed)
    view.wait_for_status("ERROR")
    view.wait_until(
        lambda: _steps(view) == _expected(path, "GENERATING_QUOTES", "failed"),
        what="the failed stage marked, the ones before it done",
    )

    view.open_job(done)
    view.wait_for_status("COMPLETE")
    view.wait_until(lambda: set(_steps(view).values()) == {"step done"}, what="every step done")

    view.wait_until(lambda: {running, failed, done} <= set(view.job_list_ids()), what="listed")
    view.wait_until(
        lambda: (
            (_badge(view, running), _badge(view, failed), _badge(view, done))
            == ("badge badge-running", "badge badge-error", "badge badge-done")
        ),
        what="a badge for running, failed and done",
    )
