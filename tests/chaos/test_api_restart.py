"""The API server restarted mid-job: the page reconnects by itself and shows the true state.

A real Chromium follows a job on a real prefork worker. The web server stops while the
job's stage runs; the page says it is reconnecting and keeps the last status it knew
(it never guesses). The job completes while the server is down. A new server on the same
port comes up and the page, never reloaded, catches up on its own to the completed job.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from harness.fixtures.chaos import StartScenario
from harness.testing.browser.live_ui import LiveUi, start_live_ui
from harness.testing.browser.ui_view import UiView
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.workflow import PRD_WORKFLOW
from tests.chaos.apps import URL
from tests.ui.page.story import is_forward_subpath
from ui.app import create_app

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.ui,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


@pytest.fixture
def restarted() -> Iterator[list[LiveUi]]:
    """Function: servers a test starts in place of ``live_ui``; stopped at teardown."""
    servers: list[LiveUi] = []
    yield servers
    for server in servers:
        server.stop()


def test_the_page_reconnects_to_a_restarted_api_and_shows_the_true_state(
    ui_page: UiView,
    live_ui: LiveUi,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    restarted: list[LiveUi],
) -> None:
    chaos_scenario("API server restarted mid-job", "uvicorn stopped, started on the same port")
    fault_injector.hang_at(STAGE)
    job_id = job_runner.submit(URL)
    ui_page.open_job(job_id)
    ui_page.wait_for_status(STAGE, timeout=60)

    port = live_ui.server.port
    live_ui.stop()
    ui_page.wait_visible("reconnecting", timeout=15)
    fault_injector.release()
    job_runner.wait_for(job_id, "COMPLETE", timeout=60)  # finished while nobody serves it
    expect(ui_page.by_testid("job-status")).to_have_text(STAGE)  # kept, not guessed

    restarted.append(start_live_ui(live_ui.service, create_app, port=port))
    ui_page.wait_for_status("COMPLETE", timeout=30)
    ui_page.wait_hidden("reconnecting")
    seen = ui_page.seen_statuses()
    assert seen[-1] == "COMPLETE", seen
    assert is_forward_subpath(seen, PRD_WORKFLOW.happy_path()), seen
    assert ui_page.seen_visible("reconnecting")[-2:] == [True, False]
    assert ui_page.state()["version"] == str(job_runner.service.get(job_id)["version"])
