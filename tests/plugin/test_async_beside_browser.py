"""An async test gives the same verdict before and after a browser test in one session.

pytest-playwright's sync API parks its event loop in the main thread for the session; the
plugin sets it aside while an async test runs (``harness.testing.browser.parked_loop``).
"""

from __future__ import annotations

import pytest

from tests.plugin.user_project import REVERSED_ORDER, clear_jobstate_env, run

TESTS = """
import anyio
import pytest


def test_in_a_browser(page):
    page.set_content("<p id='p'>hello</p>")
    assert page.text_content("#p") == "hello"


@pytest.fixture
async def ticks():
    await anyio.sleep(0)
    yield 1
    await anyio.sleep(0)


@pytest.mark.anyio
async def test_async(ticks):
    await anyio.sleep(0)
    assert ticks == 1
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` variable of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


@pytest.mark.ui
@pytest.mark.parametrize("order", ["browser first", "async first"])
def test_an_async_test_passes_on_either_side_of_a_browser_test(
    pytester: pytest.Pytester, order: str
) -> None:
    pytester.makepyfile(TESTS)
    if order == "async first":
        pytester.makeconftest(REVERSED_ORDER)
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=2)
