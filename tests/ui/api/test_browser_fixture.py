"""Without a usable browser, UI tests fail with install instructions; they never skip."""

from __future__ import annotations

import pytest

UI_TEST = """
from playwright.sync_api import Page

def test_needs_a_page(page: Page) -> None:
    page.set_content("<p>hi</p>")
"""


def test_missing_browser_fails_with_install_instructions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(UI_TEST)
    result = pytester.runpytest_subprocess(
        "--jobstate-browser=/no/such/chromium", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--jobstate-browser='/no/such/chromium' (from cli)*"])
    result.stdout.fnmatch_lines(["*apt-get install chromium*playwright install chromium*"])
    result.stdout.no_fnmatch_line("*skipped*")


def test_browser_setting_comes_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(UI_TEST)
    monkeypatch.setenv("JOBSTATE_BROWSER", "/from/env/chromium")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--jobstate-browser='/from/env/chromium' (from env)*"])
