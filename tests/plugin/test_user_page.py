"""Another team's own page in the browser: its page object subclasses PageView, and jobs
sent while the page is up run on the worker ``live_ui`` starts for the mode."""

from __future__ import annotations

import pytest

from tests.plugin.user_project import clear_jobstate_env, run, write_module, write_project

pytestmark = pytest.mark.ui

WEB = '''
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

PAGE = """<!doctype html>
<title>mine</title>
<p>Job <span data-testid="job">{job_id}</span>:
<b data-testid="state">...</b> <i data-testid="spinner">working</i></p>
<script>
const done = ["DONE", "FAILED"];
async function poll() {{
  const answer = await fetch("/api/{job_id}");
  const job = await answer.json();
  document.querySelector('[data-testid="state"]').textContent = job.status;
  document.querySelector('[data-testid="spinner"]').hidden = done.includes(job.status);
  if (!done.includes(job.status)) setTimeout(poll, 100);
}}
poll();
</script>
"""


def make(service):
    async def page(request):
        return HTMLResponse(PAGE.format(job_id=request.path_params["job_id"]))

    async def job(request):
        return JSONResponse(service.get(request.path_params["job_id"]))

    return Starlette(routes=[Route("/jobs/{job_id}", page), Route("/api/{job_id}", job)])
'''

PAGE_TESTS = """
import pytest

from harness.testing.browser.page_view import PageView


class MinePage(PageView):
    STATUS_ID = "state"
    TEXT_IDS = ("state",)
    VISIBILITY_IDS = ("spinner",)
    JOB_PATH = "/jobs/{job_id}"


@pytest.fixture
def ui_view_class():
    return MinePage


def test_the_page_follows_a_job_to_done(ui_page, live_ui):
    assert isinstance(ui_page, MinePage)
    job_id = live_ui.service.submit("https://example.com/in.mp3")["job_id"]
    ui_page.open_job(job_id)
    ui_page.wait_for_status("DONE", timeout=60)
    assert ui_page.seen_statuses()[-1] == "DONE"
    assert ui_page.seen_visible("spinner")[-1] is False
"""

MODES = [
    pytest.param("thread", id="thread"),
    pytest.param("prefork", id="prefork", marks=pytest.mark.prefork),
]


@pytest.mark.parametrize("mode", MODES)
def test_own_page_on_a_real_worker_under_strict_warnings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clear_jobstate_env(monkeypatch)
    write_project(pytester, "jobstate_web_app = mineweb:make\nfilterwarnings = error\n")
    write_module(pytester.path, "mineweb", WEB)
    pytester.makepyfile(PAGE_TESTS)
    result = run(pytester, f"--jobstate-celery={mode}", "--jobstate-redis=server")
    result.assert_outcomes(passed=1)
