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

from tests.plugin.user_project import clear_jobstate_env, run

DOORS = """
import asyncio

import anyio
import pytest


async def tick():
    await asyncio.sleep(0)
    return 1


def test_browser(page):
    page.set_content("<p id='p'>hello</p>")
    assert page.text_content("#p") == "hello"


def test_asyncio_run():
    assert asyncio.run(tick()) == 1


def test_anyio_run():
    assert anyio.run(tick) == 1


def test_new_loop():
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(tick()) == 1
    finally:
        loop.close()


@pytest.fixture
def around():
    assert asyncio.run(tick()) == 1
    yield 1
    assert asyncio.run(tick()) == 1


def test_function_fixture(around):
    assert around == 1


@pytest.fixture(scope="session")
def whole_run():
    assert anyio.run(tick) == 1
    yield 1
    assert anyio.run(tick) == 1


def test_session_fixture(whole_run):
    assert whole_run == 1


@pytest.fixture
async def ticks():
    await anyio.sleep(0)
    yield 1
    await anyio.sleep(0)


@pytest.mark.anyio
async def test_async(ticks):
    await anyio.sleep(0)
    assert ticks == 1


def test_browser_asked_late(request):
    assert asyncio.run(tick()) == 1
    page = request.getfixturevalue("page")
    page.set_content("<p id='p'>late</p>")
    assert page.text_content("#p") == "late"
"""

OTHER_MODULE = """
import asyncio

import pytest


async def tick():
    return 1


@pytest.fixture(scope="module")
def module_wide():
    assert asyncio.run(tick()) == 1
    yield 1
    assert asyncio.run(tick()) == 1


def test_module_fixture(module_wide):
    assert module_wide == 1
"""

ORDERED = """
import os


def pytest_collection_modifyitems(items):
    order = os.environ["LOOP_TEST_ORDER"].split(",")
    by_name = {item.originalname: item for item in items}
    items[:] = [by_name[name] for name in order]
"""

NAMES = (
    "test_browser",
    "test_asyncio_run",
    "test_anyio_run",
    "test_new_loop",
    "test_function_fixture",
    "test_session_fixture",
    "test_async",
    "test_browser_asked_late",
    "test_module_fixture",
)
BROWSERS = ("test_browser", "test_browser_asked_late")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` setting of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


def run_in_order(pytester: pytest.Pytester, order: tuple[str, ...]) -> None:
    """The doors' project run once in ``order``: every test passes, none errors."""
    pytester.makepyfile(test_doors=DOORS, test_other=OTHER_MODULE)
    pytester.makeconftest(ORDERED)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOOP_TEST_ORDER", ",".join(order))
        result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=len(NAMES))


def _without_browsers() -> list[str]:
    return [name for name in NAMES if name not in BROWSERS]


@pytest.mark.ui
@pytest.mark.parametrize(
    "order",
    [
        pytest.param(tuple(NAMES), id="browser first"),
        pytest.param((*_without_browsers(), *BROWSERS), id="browsers last"),
        pytest.param(
            ("test_browser_asked_late", *_without_browsers(), "test_browser"),
            id="late browser first, the other last",
        ),
    ],
)
def test_every_door_runs_its_loop_before_and_after_a_browser(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    run_in_order(pytester, order)


@pytest.mark.ui
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(NAMES))
def test_any_order_of_the_doors_gives_the_same_verdict(
    pytester: pytest.Pytester, order: list[str]
) -> None:
    run_in_order(pytester, tuple(order))
