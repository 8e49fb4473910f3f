"""The timeline tells the job's whole story: attempts, failures, redeliveries, stale sweeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from harness.testing.browser.live_ui import LiveUi
from harness.testing.browser.ui_view import UiView
from pipeline.cleanup import mark_stale
from pipeline.service import JobService
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.ui.page.polls import PollLog
from tests.ui.page.story import RESULT, advance
from tests.ui.page.timeline_page import Attempt, TimelinePage, duration_ms

pytestmark = pytest.mark.ui

HAPPY = PRD_WORKFLOW.happy_path()
HOSTILE_ERROR = "decoder gave up <img src=x onerror=alert(1)> on frame 12"
COUNT_ELEMENTS = "() => ({img: document.images.length, script: document.scripts.length})"


def _attempts_done(attempts: list[Attempt], count: int, outcome: str) -> bool:
    return len(attempts) == count and attempts[-1].outcome == outcome


def _check_durations(store: JobStore, job_id: str, attempts: list[Attempt]) -> None:
    """Each row lasted from its entry to the next status entry, as the history stamps say."""
    stamps = [e["ms"] for e in store.history(job_id) if e["kind"] != "progress"]
    rows = [row for attempt in attempts for row in attempt.rows]
    assert len(rows) == len(stamps)
    for row, start, end in zip(rows, stamps, stamps[1:], strict=False):
        shown = duration_ms(row.duration)
        # The page rounds: whole ms below 1 s, tenths of a second below 10 s.
        assert abs(shown - (end - start)) <= 50, (row, end - start)


def test_failure_then_retry_shows_both_attempts_in_order(
    scripted_page: UiView, state_store: JobStore, page_errors: list[str]
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    before: dict[str, Any] = view.page.evaluate(COUNT_ELEMENTS)
    job_id = view.submit("https://media.example/talk.mp3")
    advance(state_store, job_id, "DOWNLOADING", task_id="celery-dl-1")
    view.wait_for_status("DOWNLOADING")
    advance(state_store, job_id, "TRANSCRIBING", task_id="celery-tr-1")
    view.wait_for_status("TRANSCRIBING")
    state_store.fail(job_id, HOSTILE_ERROR, attempt=1, stage="TRANSCRIBING")
    view.wait_for_status("ERROR")

    [first] = timeline.wait_for(
        lambda a: _attempts_done(a, 1, "failed"), what="attempt 1 shown as failed"
    )
    assert first.statuses == ["INIT", "DOWNLOADING", "TRANSCRIBING", "ERROR"]
    assert "failed at TRANSCRIBING" in first.summary
    assert first.rows[-1].error == f"TRANSCRIBING: {HOSTILE_ERROR}"
    assert first.rows[-1].duration == ""  # nothing after it yet
    assert first.open
    expect(view.by_testid("failed-stage")).to_have_text(" during TRANSCRIBING")

    view.retry()
    view.wait_for_status("INIT")
    for status in HAPPY[1:-1]:
        advance(state_store, job_id, status, attempt=2, task_id=f"celery-{status.lower()}-2")
        view.wait_for_status(status)
    advance(state_store, job_id, "COMPLETE", attempt=2, result=RESULT)
    view.wait_for_status("COMPLETE")

    old, new = timeline.wait_for(
        lambda a: _attempts_done(a, 2, "finished"), what="attempt 2 shown as finished"
    )
    assert (old.attempt, new.attempt) == (1, 2)
    assert old.outcome == "failed"
    assert not old.open, "the older attempt is folded"
    assert new.open
    assert old.statuses == ["INIT", "DOWNLOADING", "TRANSCRIBING", "ERROR"]
    assert old.rows[-1].error == f"TRANSCRIBING: {HOSTILE_ERROR}"
    assert new.statuses == HAPPY
    assert new.rows[0].marks == ["retry"]
    assert old.rows[-1].duration.endswith(" before retry")
    assert "COMPLETE" in new.summary
    assert new.rows[-1].duration == ""  # a final status has no duration
    _check_durations(state_store, job_id, [old, new])
    assert view.page.evaluate(COUNT_ELEMENTS) == before  # the error markup stayed text

    timeline.summary(1).focus()
    view.page.keyboard.press("Enter")
    expect(timeline.section(1)).to_have_attribute("open", "")
    expect(timeline.section(1).get_by_test_id("row-error")).to_have_text(
        f"TRANSCRIBING: {HOSTILE_ERROR}"
    )
    assert page_errors == []


def test_redelivered_stage_is_marked_and_the_cap_ends_it(
    scripted_page: UiView,
    state_store: JobStore,
    scripted_service: JobService,
    page_errors: list[str],
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    view.open_job(job_id)
    advance(state_store, job_id, "DOWNLOADING", task_id="celery-dl")
    view.wait_for_status("DOWNLOADING")
    # What the tracker writes when Celery hands the same stage message over again.
    state_store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="celery-dl", max_runs=3)

    [attempt] = timeline.wait_for(
        lambda a: len(a[0].rows) == 3, what="the redelivery in the timeline"
    )
    assert attempt.statuses == ["INIT", "DOWNLOADING", "DOWNLOADING"]
    again = attempt.rows[-1]
    assert again.marks == ["redelivered"]
    assert again.mark_texts == ["redelivered (delivery 2)"]
    assert again.duration.endswith(" so far")
    assert attempt.rows[1].marks == []
    assert "1 redelivery" in attempt.summary
    expect(view.by_testid("job-status")).to_have_text("DOWNLOADING")

    state_store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="celery-dl", max_runs=3)
    state_store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="celery-dl", max_runs=3)
    view.wait_for_status("ERROR")
    [attempt] = timeline.wait_for(
        lambda a: a[0].outcome == "failed", what="the redelivery cap in the timeline"
    )
    assert attempt.statuses == ["INIT", "DOWNLOADING", "DOWNLOADING", "DOWNLOADING", "ERROR"]
    assert [r.marks for r in attempt.rows[2:]] == [
        ["redelivered"],
        ["redelivered"],
        ["redelivery-cap"],
    ]
    assert attempt.rows[3].mark_texts == ["redelivered (delivery 3)"]
    assert "gave up after 3 deliveries" in (attempt.rows[-1].error or "")
    assert "failed at DOWNLOADING" in attempt.summary
    expect(view.by_testid("failed-stage")).to_have_text(" during DOWNLOADING")
    assert page_errors == []


def test_stale_sweep_is_marked(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING")
    advance(state_store, job_id, "TRANSCRIBING")
    view.open_job(job_id)
    view.wait_for_status("TRANSCRIBING")
    swept = wait_until(lambda: mark_stale(state_store, older_than=0), 5, what="stale sweep")
    assert swept == [job_id]
    view.wait_for_status("ERROR")
    [attempt] = timeline.wait_for(lambda a: a[0].outcome == "failed", what="the sweep shown")
    swept = attempt.rows[-1]
    assert swept.marks == ["stale"]
    assert swept.mark_texts == ["stale sweep"]
    assert swept.kind == "stale"
    assert (swept.error or "").startswith("stale: no heartbeat or progress")
    assert "failed at TRANSCRIBING" in attempt.summary
    expect(view.by_testid("failed-stage")).to_have_text(" during TRANSCRIBING")


def test_task_ids_are_shown_on_demand(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING", task_id="3f1c-download-task")
    advance(state_store, job_id, "TRANSCRIBING", task_id="9a7e-transcribe-task")
    view.open_job(job_id)
    [attempt] = timeline.wait_for(lambda a: len(a[0].rows) == 3, what="three rows")
    assert [r.task_id for r in attempt.rows] == [None, "3f1c-download-task", "9a7e-transcribe-task"]
    tasks = view.page.get_by_test_id("row-task")
    expect(tasks).to_have_count(2)
    expect(tasks.first).to_be_hidden()

    toggle = view.by_testid("show-task-ids")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.focus()
    view.page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(tasks.nth(0)).to_be_visible()
    expect(tasks.nth(1)).to_have_text("Celery task 9a7e-transcribe-task")
    view.page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(tasks.first).to_be_hidden()


def test_long_history_folds_older_attempts(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/flaky.mp3")["job_id"]
    # Eleven attempts: past ten, where attempts sorted as text would put 10 before 2.
    for attempt in range(1, 11):
        advance(state_store, job_id, "DOWNLOADING", attempt=attempt)
        state_store.fail(job_id, f"timeout number {attempt}", attempt=attempt, stage="DOWNLOADING")
        scripted_service.retry(job_id)
    view.open_job(job_id)
    view.wait_for_status("INIT")
    shown = timeline.wait_for(lambda a: a[-1].attempt == 11, what="the latest attempt")
    assert [a.attempt for a in shown] == [7, 8, 9, 10, 11]
    assert [a.open for a in shown] == [False, False, False, False, True]
    assert all("failed at DOWNLOADING" in a.summary for a in shown[:-1])
    earlier = view.by_testid("timeline-earlier")
    expect(earlier).to_have_text("Show 6 earlier attempts")
    earlier.focus()
    view.page.keyboard.press("Enter")
    expect(earlier).to_be_hidden()
    every = timeline.attempts()
    assert [a.attempt for a in every] == list(range(1, 12))
    assert every[0].rows[-1].error == "DOWNLOADING: timeout number 1"
    assert every[9].rows[-1].error == "DOWNLOADING: timeout number 10"


def test_history_is_fetched_when_the_job_moves_not_on_every_poll(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING")
    polls = PollLog(view.live.api_url(f"/api/jobs/{job_id}")).attach(view.page)
    history = PollLog(view.live.api_url(f"/api/jobs/{job_id}/history")).attach(view.page)
    view.open_job(job_id)
    view.wait_until(lambda: polls.finished >= 5, timeout=20, what="5 polls answered")
    assert history.started == 1, "the history was fetched without a change"

    began = time.monotonic()
    for percent in (10, 20, 30, 40, 50, 60):
        state_store.progress(job_id, {"percent": percent}, attempt=1, status="DOWNLOADING")
        expect(view.by_testid("progress-text")).to_have_text(f"{percent}%")
    # Progress alone refetches at most once per PROGRESS_REFETCH_MS (5 s), not per poll.
    allowed = 1 + int((time.monotonic() - began) / 5)
    assert history.started - 1 <= allowed, (history.started, allowed)

    advance(state_store, job_id, "TRANSCRIBING")
    timeline.wait_for(lambda a: a[0].statuses[-1] == "TRANSCRIBING", what="TRANSCRIBING row")
    assert history.max_in_flight == 1
    assert polls.max_in_flight == 1
    assert history.started < polls.started / 2, (history.started, polls.started)


READ_FORMS = """async entries => {
  const { buildTimeline } = await import("/static/timeline-model.js");
  const model = buildTimeline(entries, { errorStatus: "ERROR", terminal: ["COMPLETE", "ERROR"] });
  return model.rows.map(row => [row.status, row.marks, row.delivery]);
}"""


def _entry(version: int, kind: str, status: str, **extra: Any) -> dict[str, Any]:
    base = {"version": version, "attempt": 1, "kind": kind, "from": None, "status": status}
    return {**base, "at": "", "ms": 1000 * version, "error": None, "task_id": None, **extra}


@pytest.mark.parametrize(
    "again",
    [
        pytest.param({"kind": "redelivered"}, id="kind"),
        pytest.param({"kind": "transition", "redelivered": "1"}, id="flag"),
        pytest.param({"kind": "transition", "task_id": "task-b"}, id="same-status-new-task"),
    ],
)
def test_every_form_of_a_redelivery_is_read_as_one(
    scripted_page: UiView, again: dict[str, Any]
) -> None:
    entries = [
        _entry(1, "create", "INIT"),
        _entry(2, "transition", "DOWNLOADING", task_id="task-a"),
        _entry(3, "progress", "DOWNLOADING"),
        _entry(4, status="DOWNLOADING", **{"kind": "transition", **again}),
        _entry(5, "transition", "TRANSCRIBING"),
    ]
    rows = scripted_page.page.evaluate(READ_FORMS, entries)
    assert rows == [
        ["INIT", [], 1],
        ["DOWNLOADING", [], 1],
        ["DOWNLOADING", ["redelivered"], 2],
        ["TRANSCRIBING", [], 1],
    ]


CLOCK = """async () => {
  const clock = await import("/static/clock.js");
  const hour = 3600 * 1000;
  clock.noteServerDate(new Date(Date.now() + hour).toUTCString());
  const skew = clock.serverNow() - Date.now();
  const ago = clock.formatAgo(Date.now() + hour - 65 * 1000);
  clock.noteServerDate(new Date().toUTCString());
  const after = clock.serverNow() - Date.now();
  const durations = [850, 3240, 42000, 75000, 7.2e6, 90e6].map(clock.formatDuration);
  return { skew, ago, after, durations };
}"""


def test_times_follow_the_server_clock_and_read_well(scripted_page: UiView) -> None:
    found = scripted_page.page.evaluate(CLOCK)
    # A server an hour ahead (the Date header has whole seconds): "ago" is on its clock.
    assert abs(found["skew"] - 3_600_000) <= 1000, found
    assert found["ago"] == "1 min ago"
    assert found["after"] == 0  # a second or less apart is noise, not skew
    assert found["durations"] == ["850 ms", "3.2 s", "42 s", "1 min 15 s", "2 h 0 min", "1 d 1 h"]


ZONES = [("UTC", 0), ("Asia/Kolkata", 330), ("Pacific/Honolulu", -600), ("Pacific/Kiritimati", 840)]


@pytest.mark.parametrize(("zone", "offset_min"), ZONES, ids=[z for z, _ in ZONES])
def test_the_timeline_clock_is_the_viewers_local_time(
    browser: Browser, scripted_ui: LiveUi, zone: str, offset_min: int
) -> None:
    """Two clocks that disagree: the stored time is UTC, a person reads their own."""
    context = browser.new_context(timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(scripted_ui.url)
        instant = datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC)
        shown = page.evaluate(
            """async (ms) => (await import("/static/clock.js")).formatClock(ms)""",
            instant.timestamp() * 1000,
        )
        local = instant + timedelta(minutes=offset_min)
        assert shown.endswith(local.strftime("%H:%M:%S")), (zone, shown)
    finally:
        context.close()


def test_a_folded_latest_attempt_stays_folded_as_the_job_moves(
    scripted_page: UiView, state_store: JobStore, scripted_service: JobService
) -> None:
    """A person's choice outlives the re-render each change brings; a new attempt, which
    they have not seen yet, opens."""
    view = scripted_page
    timeline = TimelinePage(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    advance(state_store, job_id, "DOWNLOADING")
    view.open_job(job_id)
    timeline.wait_for(lambda a: a[-1].open and len(a[-1].rows) == 2, what="attempt 1 open")
    timeline.summary(1).click()
    timeline.wait_for(lambda a: not a[-1].open, what="attempt 1 folded")

    for status in ("TRANSCRIBING", "GENERATING_QUOTES"):
        advance(state_store, job_id, status)
        view.wait_for_status(status)
    [attempt] = timeline.wait_for(lambda a: len(a[-1].rows) == 4, what="two more rows")
    assert not attempt.open, "the latest attempt opened again on its own"

    state_store.fail(job_id, "no quotes", attempt=1, stage="GENERATING_QUOTES")
    scripted_service.retry(job_id)
    shown = timeline.wait_for(lambda a: a[-1].attempt == 2, what="attempt 2")
    assert [a.open for a in shown] == [False, True]
