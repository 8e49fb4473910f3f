"""The override of pytest-playwright's ``browser_type_launch_args`` (a plugin module).

Registered by :mod:`harness.ui` from ``pytest_configure``, after every installed plugin:
when two plugins define the same fixture, the one registered last wins.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserType

from harness.browser import BrowserNotFound, choose_browser, launch_options
from harness.plugin import get_config

__all__ = ["browser_type_launch_args"]


@pytest.fixture(scope="session")
def browser_type_launch_args(
    pytestconfig: pytest.Config, browser_type: BrowserType
) -> dict[str, Any]:
    """Session: launch options for the browser (headless, sandbox off, quiet network).

    For Chromium: Playwright's build if installed, else the system one (or the
    ``--jobstate-browser`` path). Fails the test with install instructions when none.
    """
    if browser_type.name != "chromium":
        return {"headless": True}
    cfg = get_config(pytestconfig)
    try:
        choice = choose_browser(
            cfg["browser"], browser_type.executable_path, source=cfg.source("browser")
        )
    except BrowserNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    return launch_options(choice)
