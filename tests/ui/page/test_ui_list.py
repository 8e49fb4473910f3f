"""The recent-jobs list keeps itself current: a light poll, paused while the tab is hidden."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.testing.browser.ui_view import UiView
from harness.testing.redis.backend import RedisBackend
from pipeline.cleanup import mark_stale
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.ui.page.polls import PollLog
from tests.ui.page.story import advance
from tests.ui.page.timeline_page import TimelinePage

pytestmark = pytest.mark.ui

LIST_PATH = "/api/jobs?limit=20"
LIST_INTERVAL_S = 3.0
HIDDEN_WATCH_MS = 7000  # more than two list intervals
AGO = re.compile(r"^changed (just now|\d+ s ago|\d+ min ago)$")


@pytest.fixture
def jobstate_settings(redis_backend: RedisBackend) -> Settings:
    """Function: the test's settings with a 1 s stale threshold, so silence shows quickly
    (and heartbeats twice as often, as the settings require)."""
    return redis_backend.settings.with_(stale_after_seconds=1, heartbeat_seconds=0.5)


def _jobstate_command() -> list[str]:
    """The installed ``jobstate`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("jobstate")
    found = str(beside) if beside.exists() else shutil.which("jobstate")
    if not found:
        raise AssertionError("the jobstate console script is not installed: pip install -e .")
    return [found]


@pytest.mark.jobstate_redis("server")  # the CLI runs in another process
def test_a_job_submitted_from_the_cli_appears_without_refresh(
    scripted_page: UiView, jobstate_settings: Settings, state_store: JobStore
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    log = PollLog(view.live.api_url(LIST_PATH)).attach(view.page)
    view.open_home()  # counted from the first load on
    view.wait_until(lambda: log.finished >= 1, what="the first list load")
    expect(view.by_testid("job-list-empty")).to_be_visible()

    env = {**os.environ, **jobstate_settings.to_env()}
    done = subprocess.run(
        [*_jobstate_command(), "submit", "https://media.example/from-the-cli.mp3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip().splitlines()[-1]
    assert state_store.get_state(job_id)["status"] == "INIT"

    # No click on Refresh: the list's own poll brings the job in.
    view.wait_until(lambda: job_id in view.job_list_ids(), timeout=10, what="CLI job listed")
    item = page.list_item(job_id)
    assert item is not None
    assert item.status == "INIT"
    assert AGO.match(item.ago), item.ago
    expect(view.by_testid("job-list-empty")).to_be_hidden()
    assert log.max_in_flight == 1


def test_list_polls_one_request_at_a_time_and_pauses_while_hidden(
    scripted_page: UiView, scripted_service: JobService, page_errors: list[str]
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    log = PollLog(view.live.api_url(LIST_PATH)).attach(view.page)
    view.open_home()  # counted from the first load on
    view.wait_until(lambda: log.finished >= 3, timeout=20, what="3 list loads")
    gaps = log.gaps_s()
    assert min(gaps) >= LIST_INTERVAL_S - 0.05, gaps  # the next load waits a full interval

    page.set_hidden(True)
    paused_at = log.started
    hidden_job = scripted_service.submit("https://media.example/while-hidden.mp3")["job_id"]
    # Absence of requests can only be seen by letting time pass: more than two intervals.
    view.page.wait_for_timeout(HIDDEN_WATCH_MS)
    assert log.started == paused_at, "the list polled while the tab was hidden"
    assert hidden_job not in view.job_list_ids()

    page.set_hidden(False)  # shown again: the list catches up at once, then polls again
    view.wait_until(lambda: hidden_job in view.job_list_ids(), timeout=5, what="catch-up load")
    view.wait_until(lambda: log.started >= paused_at + 2, timeout=10, what="polling resumed")
    assert log.max_in_flight == 1
    assert not log.overlaps(), log.overlaps()
    assert log.failed == 0
    assert page_errors == []


def test_list_shows_status_age_and_marks_stale_jobs(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    page = TimelinePage(view)
    quiet = scripted_service.submit("https://media.example/quiet.mp3")["job_id"]
    done = scripted_service.submit("https://media.example/done.mp3")["job_id"]
    advance(state_store, quiet, "DOWNLOADING")
    state_store.fail(done, "bad input", attempt=1)

    # No heartbeat for more than the 1 s threshold: the list marks the job stale.
    view.wait_until(
        lambda: (item := page.list_item(quiet)) is not None and item.stale,
        timeout=10,
        what="quiet job marked stale",
    )
    item = page.list_item(quiet)
    assert item is not None
    assert (item.status, item.stale_shown) == ("DOWNLOADING", True)
    assert AGO.match(item.ago), item.ago
    failed = page.list_item(done)
    assert failed is not None
    assert (failed.status, failed.stale, failed.stale_shown) == ("ERROR", False, False)

    def beating_and_fresh() -> bool:
        state_store.heartbeat(quiet, attempt=1, status="DOWNLOADING")  # a worker alive again
        item = page.list_item(quiet)
        return item is not None and not item.stale and not item.stale_shown

    view.wait_until(beating_and_fresh, timeout=10, what="heartbeats clear the stale mark")
    # The open job's view says the same as its list entry.
    view.open_job(quiet)
    view.wait_visible("stale", timeout=10)


def test_an_open_job_seen_stale_is_still_followed_to_its_next_state(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    """Stale is a running job gone quiet, not an end: the open view keeps polling it, so
    a worker that speaks again and then the sweep's ERROR both reach the page."""
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/quiet.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING")
    view.open_job(job_id)
    view.wait_visible("stale", timeout=10)  # no heartbeat for more than the 1 s threshold

    advance(state_store, job_id, "TRANSCRIBING")  # the next stage starts after all
    view.wait_for_status("TRANSCRIBING", timeout=10)
    view.wait_hidden("stale", timeout=10)

    view.wait_visible("stale", timeout=10)  # quiet again
    swept = wait_until(lambda: mark_stale(state_store), 10, what="stale sweep")
    assert swept == [job_id]
    view.wait_for_status("ERROR", timeout=10)
    view.wait_hidden("stale", timeout=10)
    expect(view.by_testid("failed-stage")).to_have_text(" during TRANSCRIBING")
