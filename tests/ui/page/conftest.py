"""Scripted UI fixtures: the page on a service whose state the test writes itself.

The service's enqueue only records the job contexts it was given, so no worker runs; a
test moves the job through its statuses with ``state_store`` and watches the page follow.
That makes every page behaviour deterministic. Tests with a real worker use the plugin's
``live_ui``/``ui_page`` (bound to ``job_service``) instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from harness.fixtures.browser import StartUi
from harness.testing.browser.live_ui import LiveUi
from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore

Contexts = list[dict[str, Any]]


@pytest.fixture
def enqueued() -> Contexts:
    """Function: every job context the scripted service was asked to enqueue, in order."""
    return []


@pytest.fixture
def scripted_service(state_store: JobStore, enqueued: Contexts) -> JobService:
    """Function: a JobService on the test's store whose enqueue only records the context."""
    return JobService(state_store, enqueued.append)


@pytest.fixture
def scripted_ui(live_ui_factory: StartUi, scripted_service: JobService) -> LiveUi:
    """Function: the web app serving ``scripted_service``; stopped at teardown."""
    return live_ui_factory(scripted_service)


@pytest.fixture
def scripted_page(page: Page, scripted_ui: LiveUi, page_errors: list[str]) -> UiView:
    """Function: a recording UiView on the scripted app, showing its home view.

    ``page_errors`` listens from before the first load, so a test that asks for it sees
    every uncaught error of the page.
    """
    return UiView(page, scripted_ui).record().open_home()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Function: every uncaught JavaScript error the page raised, as text, in order."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
