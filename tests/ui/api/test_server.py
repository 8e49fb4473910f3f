"""The app served by uvicorn from a thread: starts on a free port, answers, stops."""

from __future__ import annotations

import asyncio
import gc
import socket

import httpx
import pytest
from playwright.sync_api import Page

from harness.testing.browser.live_ui import start_live_ui
from harness.testing.pollers import run_polls
from pipeline.service import JobService
from pipeline.store import JobStore
from ui.app import create_app
from ui.server import start_in_thread


@pytest.fixture
def service(state_store: JobStore) -> JobService:
    """Function: a service whose enqueue does nothing."""
    return JobService(state_store, lambda ctx: None)


def test_started_server_answers_and_stops(service: JobService) -> None:
    running = start_in_thread(service)
    try:
        assert running.url == f"http://127.0.0.1:{running.port}"
        with httpx.Client(base_url=running.url) as http:
            assert http.get("/healthz").json() == {"status": "ok", "redis": "up"}
            job = http.post("/api/jobs", json={"url": "https://media.example/a.mp3"}).json()
            assert http.get(f"/api/jobs/{job['job_id']}").json()["status"] == "INIT"
    finally:
        running.stop(timeout=5)
    assert not running.thread.is_alive()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", running.port), 1),
    ):
        pass


def test_a_broken_app_factory_fails_to_start(service: JobService) -> None:
    def factory(_: JobService) -> object:
        raise RuntimeError("cannot build")

    with pytest.raises(RuntimeError, match="cannot build"):
        start_in_thread(service, app_factory=factory)


def test_live_ui_urls(service: JobService) -> None:
    with start_live_ui(service, create_app) as live:
        assert live.job_url("abc-1") == f"{live.url}/#/jobs/abc-1"
        assert live.api_url("/api/ping") == f"{live.url}/api/ping"
        with httpx.Client() as http:
            assert http.get(live.api_url("/api/ping")).json() == {"status": "ok"}
        assert live.service is service


def test_page_like_pollers_see_a_job_end_and_leave_the_collector_as_they_found_it(
    service: JobService, state_store: JobStore
) -> None:
    # Slips: the pollers' paused collector left off, or objects the caller had frozen
    # thawed (or its own left frozen) after a run.
    job_id = state_store.create("https://media.example/a.mp3").job_id
    for status in state_store.workflow.happy_path()[1:]:
        state_store.set_state(job_id, status, attempt=1)
    gc.freeze()  # what a caller (a serving process, say) had frozen before
    try:
        assert gc.isenabled()
        with start_in_thread(service) as running:
            polls = run_polls(running.url, [job_id], 3, seconds=10)
        assert gc.isenabled()
        # Still frozen (the count may drop as frozen objects die, never to nothing).
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert polls.failures == []
    assert polls.last == {job_id: state_store.workflow.happy_path()[-1]}
    assert polls.changed == 3  # each poller read the record once and stopped at the end


@pytest.mark.ui
def test_pollers_run_from_a_test_that_holds_a_browser(
    page: Page, service: JobService, state_store: JobStore
) -> None:
    # Slip: the pollers' own event loop refused to start where Playwright's sync API
    # parked its loop ("Runner.run() cannot be called from a running event loop").
    page.set_content("<p id='p'>before</p>")
    parked = asyncio._get_running_loop()
    assert parked is not None  # what Playwright leaves in this thread between calls
    job_id = state_store.create("https://media.example/a.mp3").job_id
    for status in state_store.workflow.happy_path()[1:]:
        state_store.set_state(job_id, status, attempt=1)
    with start_in_thread(service) as running:
        polls = run_polls(running.url, [job_id], 2, seconds=10)
    assert polls.failures == []
    assert polls.last == {job_id: state_store.workflow.happy_path()[-1]}
    assert asyncio._get_running_loop() is parked
    assert page.text_content("#p") == "before"  # and the browser still answers
