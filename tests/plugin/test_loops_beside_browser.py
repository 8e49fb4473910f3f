"""Every door a test's code runs an event loop through gives the same verdict before and
after a browser test in one process, in any order.

pytest-playwright's sync API parks its event loop in the main thread for the session;
the plugin's two gates (``pytest_fixture_setup`` and ``pytest_runtest_call``) set it aside
for every fixture and test that does not use it. The doors: an async test and its async
fixture, ``asyncio.run``, ``anyio.run`` and a new loop in a test's body, a function
fixture's setup and teardown, a module fixture torn down when the run moves to another
module, a session fixture torn down at the very end, and a browser requested by
``getfixturevalue`` after the test ran a loop.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.plugin.loop_doors import DOORS, run_in_order
from tests.plugin.user_project import clear_jobstate_env, run

BROWSERS = """


def test_browser(page):
    page.set_content("<p id='p'>hello</p>")
    assert page.text_content("#p") == "hello"


def test_browser_asked_late(request):
    assert asyncio.run(tick()) == 1
    page = request.getfixturevalue("page")
    page.set_content("<p id='p'>late</p>")
    assert page.text_content("#p") == "late"
"""
"""Two browser tests: one asking for ``page`` up front, one by ``getfixturevalue`` after
running a loop of its own."""

USERS = ("test_browser", "test_browser_asked_late")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` setting of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


def run_beside_browsers(pytester: pytest.Pytester, order: tuple[str, ...]) -> None:
    """The doors and the browser tests, run once in a subprocess in ``order``."""
    run_in_order(pytester, BROWSERS, order, run)


@pytest.mark.ui
@pytest.mark.parametrize(
    "order",
    [
        pytest.param((*USERS, *DOORS), id="browsers first"),
        pytest.param((*DOORS, *USERS), id="browsers last"),
        pytest.param(
            ("test_browser_asked_late", *DOORS, "test_browser"),
            id="late browser first, the other last",
        ),
    ],
)
def test_every_door_runs_its_loop_before_and_after_a_browser(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    run_beside_browsers(pytester, order)


@pytest.mark.ui
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations((*USERS, *DOORS)))
def test_any_order_of_the_doors_gives_the_same_verdict(
    pytester: pytest.Pytester, order: list[str]
) -> None:
    run_beside_browsers(pytester, tuple(order))
