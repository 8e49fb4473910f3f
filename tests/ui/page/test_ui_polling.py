"""Polling cadence, measured from the page's own requests."""

from __future__ import annotations

import json
from statistics import mean

import pytest
from playwright.sync_api import Route, expect

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.polls import PollLog
from tests.ui.page.story import RESULT, advance

pytestmark = pytest.mark.ui

QUIET_AFTER_TERMINAL_MS = 3500


def _poll_log(view: UiView, job_id: str) -> PollLog:
    return PollLog(view.live.api_url(f"/api/jobs/{job_id}")).attach(view.page)


def test_one_poll_a_second_never_two_at_once_none_after_terminal(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    log = _poll_log(view, job_id)
    view.open_job(job_id)
    advance(state_store, job_id, "DOWNLOADING")
    view.wait_for_status("DOWNLOADING")
    view.wait_until(lambda: log.finished >= 8, timeout=20, what="8 polls answered")

    advance(state_store, job_id, "TRANSCRIBING")
    view.wait_for_status("TRANSCRIBING")
    advance(state_store, job_id, "GENERATING_QUOTES")
    advance(state_store, job_id, "GENERATING_SUMMARY")
    advance(state_store, job_id, "COMPLETE", result=RESULT)
    view.wait_for_status("COMPLETE")
    at_terminal = log.started
    # Absence of requests can only be seen by letting time pass: watch the quiet page for
    # 3.5 s (three and a half poll intervals) with nothing to wait on but the clock.
    view.page.wait_for_timeout(QUIET_AFTER_TERMINAL_MS)

    assert log.started == at_terminal, "the page polled after a terminal state"
    assert log.max_in_flight == 1
    assert not log.overlaps(), log.overlaps()
    assert log.failed == 0
    # Polls that found the job unchanged were answered 304 with no body, the page kept
    # showing the state it held (checked by the statuses it went on to show).
    assert set(log.statuses) == {200, 304}
    assert log.statuses.count(304) >= 5, log.statuses
    gaps = log.gaps_s()
    assert len(gaps) >= 8
    assert 0.9 <= mean(gaps) <= 1.5, gaps
    assert min(gaps) >= 0.95, gaps  # the next poll waits a full interval after the answer


def test_backoff_schedule_in_the_page(scripted_page: UiView) -> None:
    delays = scripted_page.page.evaluate(
        """async () => {
            const { backoffDelay } = await import("/static/poller.js");
            return [1, 2, 3, 4, 5, 20, 1000].map(backoffDelay);
        }"""
    )
    assert delays == [1000, 2000, 4000, 5000, 5000, 5000, 5000]


def test_unavailable_api_shows_reconnecting_with_backoff_then_recovers(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    log = _poll_log(view, job_id)
    view.open_job(job_id)
    view.wait_for_status("INIT")
    failures = {"left": 3}

    def unavailable(route: Route) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            body = json.dumps({"detail": "state store unavailable"})
            route.fulfill(status=503, content_type="application/json", body=body)
        else:
            route.continue_()

    view.page.route(log.url, unavailable)
    view.wait_visible("reconnecting")
    expect(view.by_testid("job-status")).to_have_text("INIT")  # last known state, no guess
    expect(view.by_testid("loading")).to_be_visible()
    advance(state_store, job_id, "DOWNLOADING")
    view.wait_hidden("reconnecting", timeout=20)
    view.wait_for_status("DOWNLOADING")
    view.page.unroute(log.url)

    assert log.statuses.count(503) == 3
    first = next(i for i, p in enumerate(log.polls) if p.status == 503)
    gaps = log.gaps_s(log.polls[first : first + 4])
    # After failures 1, 2 and 3 the page waits 1, 2 and 4 s (plus the answer's time).
    for gap, delay in zip(gaps, (1.0, 2.0, 4.0), strict=True):
        assert delay - 0.05 <= gap <= delay + 0.75, gaps
    assert log.max_in_flight == 1
    texts = view.seen_texts("reconnecting-text")
    assert any("Next try in 4 s" in t for t in texts), texts


def test_a_hanging_request_times_out_and_the_page_reconnects(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    log = _poll_log(view, job_id)
    view.open_job(job_id)
    view.wait_for_status("INIT")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # never answered: only the page's own timeout ends the request

    view.page.route(log.url, hold)

    view.wait_visible("reconnecting", timeout=10)
    assert log.failed >= 1
    view.page.unroute(log.url)
    advance(state_store, job_id, "DOWNLOADING")
    view.wait_for_status("DOWNLOADING", timeout=15)
    view.wait_hidden("reconnecting")
    assert log.max_in_flight == 1


OUTAGE_FAILURES = 12  # three times the backoff table's length, far past any "give up after N"


def test_the_page_never_gives_up_reconnecting_however_long_the_outage(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    """Twelve failed polls in a row, on the page's own (fake) clock: after each one the
    next try is scheduled at the capped delay, the page keeps saying "reconnecting" and
    the last known state, and the first answer after the outage is shown."""
    view = scripted_page
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    log = _poll_log(view, job_id)
    view.page.clock.install()  # the page's timers from now on run when the test says
    view.open_job(job_id)
    view.wait_for_status("INIT")

    def unavailable(route: Route) -> None:
        body = json.dumps({"detail": "state store unavailable"})
        route.fulfill(status=503, content_type="application/json", body=body)

    view.page.route(log.url, unavailable)
    view.page.clock.run_for(1000)  # the poll after INIT is due
    longest = 5000  # BACKOFF_MS[-1]: checked by test_backoff_schedule_in_the_page
    for failures in range(1, OUTAGE_FAILURES + 1):
        view.wait_until(
            lambda n=failures: log.statuses.count(503) >= n,
            timeout=10,
            what=f"failed poll {failures}",
        )
        expect(view.by_testid("reconnecting")).to_be_visible()
        expect(view.by_testid("job-status")).to_have_text("INIT")
        # Whatever the delay, the next try is now due. fast_forward fires each due timer
        # once: run_for would also run the new request's 4 s timeout in the same jump,
        # before the network could answer, and abort it while the next try started.
        view.page.clock.fast_forward(longest)
    assert log.statuses.count(503) >= OUTAGE_FAILURES
    # The last jump started one more try: let it be answered before the next jump, which
    # would otherwise run that request's 4 s timeout on a slow machine and abort it while
    # the try after it started (two in flight, by the test's own clock).
    view.wait_until(lambda: log.in_flight == 0, timeout=10, what="every poll answered")

    view.page.unroute(log.url)
    advance(state_store, job_id, "DOWNLOADING")
    view.page.clock.fast_forward(longest)
    view.wait_for_status("DOWNLOADING", timeout=10)
    view.wait_hidden("reconnecting")
    assert log.max_in_flight == 1
