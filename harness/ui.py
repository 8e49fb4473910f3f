"""UI fixtures: the web app on a free port, a browser that runs here, a page on the app.

Built on pytest-playwright (one browser per session, a context and ``page`` per test).
The browser is Playwright's own Chromium when installed, else a system Chromium, chosen
by ``--jobstate-browser`` (env ``JOBSTATE_BROWSER``, ini ``jobstate_browser``; ``auto``
detects). No browser is a failure with install instructions, never a skip.

Keep evidence of failing UI tests with pytest-playwright's own options, e.g.::

    pytest -m ui --screenshot only-on-failure --tracing retain-on-failure --output test-results

The screenshot and trace of a failed test land in ``test-results/<test-id>/``; open a
trace with ``playwright show-trace``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page

from harness.page_view import PageView
from harness.plugin import get_config
from harness.ui_view import UiView
from pipeline.loading import load_object
from pipeline.service import JobService

if TYPE_CHECKING:  # the web stack (FastAPI) loads only when a test serves the UI
    from harness.live_ui import LiveUi

__all__ = ["StartUi", "live_ui", "live_ui_factory", "ui_page", "ui_view_class"]

StartUi = Callable[[JobService], "LiveUi"]
"""What ``live_ui_factory`` yields: serve a service, get its :class:`LiveUi`."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the browser launch fixture when pytest-playwright is active."""
    if config.pluginmanager.hasplugin("playwright"):
        from harness import browser_launch

        config.pluginmanager.register(browser_launch, "jobstate-browser-launch")


@pytest.fixture
def live_ui_factory(pytestconfig: pytest.Config) -> Iterator[StartUi]:
    """Function: ``start(service) -> LiveUi``, the web app for any service on a free port.

    The app comes from ``--jobstate-web-app`` (default ``ui.app:create_app``), served by
    uvicorn from a daemon thread. Teardown stops every server it started (hard timeout).
    """
    from harness.live_ui import start_live_ui

    target = get_config(pytestconfig)["web_app"]
    factory = load_object(target, "jobstate_web_app")
    with ExitStack() as stack:

        def start(service: JobService) -> LiveUi:
            running = start_live_ui(service, factory)
            stack.callback(running.stop)
            return running

        yield start


@pytest.fixture
def live_ui(live_ui_factory: StartUi, job_service: JobService, celery_worker: Any) -> LiveUi:
    """Function: the web app bound to this test's ``job_service`` (and so its Redis).

    The worker for the test's mode runs (``celery_worker``), so jobs sent through the
    page run in thread and prefork modes too. Yields a :class:`~harness.live_ui.LiveUi`:
    ``.url``, ``.job_url(job_id)``, ``.service``. Stopped at teardown.
    """
    return live_ui_factory(job_service)


@pytest.fixture
def ui_view_class() -> type[PageView]:
    """Function: the page object class ``ui_page`` builds (default :class:`UiView`).

    Override it to check your own page: return a subclass of
    :class:`~harness.page_view.PageView` that names your page's test ids.
    """
    return UiView


@pytest.fixture
def ui_page(page: Page, live_ui: LiveUi, ui_view_class: type[PageView]) -> PageView:
    """Function: a page object (``ui_view_class``, by default :class:`~harness.ui_view.UiView`)
    on pytest-playwright's ``page``, already showing ``live_ui``'s home view, with the page
    recorder installed.

    ``open_job(id)``, ``status()``, ``wait_for_status(s)``, ``seen_statuses()``; the
    reference page's also ``submit(url)``, ``retry()``, ``clear()``. The page closes with
    its context.
    """
    return ui_view_class(page, live_ui).record().open_home()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    """On failure, add what the page showed (statuses, messages) to the report."""
    report = yield
    if report.failed and call.when == "call":
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        views = [v for v in funcargs.values() if isinstance(v, PageView)]
        for view in views:
            report.sections.append(("jobstate page", _page_story(view)))
    return report


def _page_story(view: PageView) -> str:
    try:
        return view.story()
    except Exception as exc:
        return f"page not readable: {type(exc).__name__}"
