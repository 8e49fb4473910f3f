"""The plugin's event-loop gates, without a browser: a session fixture that parks a loop in
the main thread as Playwright's sync API does, and every door around it.

Fixtures and tests that use the parked loop (it, one built on it, a test or a fixture
asking by ``getfixturevalue`` for a function fixture built on it, as for ``page``) see it;
every other door runs its own loop as if nothing were parked, in any order. In-process
runs: a few hundred milliseconds each, so Hypothesis can try many orders.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.testing.browser.parked_loop import loop_set_aside, reveal_hidden_loop
from tests.plugin.loop_doors import DOORS, run_in_order
from tests.plugin.user_project import clear_jobstate_env, run_here

PARKERS = """


@pytest.fixture(scope="session")
def parked():
    loop = asyncio.new_event_loop()
    asyncio._set_running_loop(loop)
    yield loop
    assert asyncio._get_running_loop() is loop, "torn down without its loop"
    asyncio._set_running_loop(None)
    loop.close()


@pytest.fixture
def built_on(parked):
    assert asyncio._get_running_loop() is parked
    yield parked
    assert asyncio._get_running_loop() is parked


def test_parker(parked):
    assert asyncio._get_running_loop() is parked


def test_built_on(built_on):
    assert asyncio._get_running_loop() is built_on


def test_asked_late(request):
    assert asyncio.run(tick()) == 1
    loop = request.getfixturevalue("built_on")
    assert asyncio._get_running_loop() is loop


@pytest.fixture
def asks_inside(request):
    loop = request.getfixturevalue("built_on")
    assert asyncio._get_running_loop() is loop
    yield loop
    assert asyncio._get_running_loop() is loop


def test_asks_inside(asks_inside):
    assert asyncio._get_running_loop() is asks_inside
"""
"""A session fixture parking a loop as Playwright's sync API does, and its users."""

USERS = ("test_parker", "test_built_on", "test_asked_late", "test_asks_inside")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Function: no ``JOBSTATE_*`` setting of this run reaches the inner runs, and the
    thread's running loop is as it was whatever an inner run left."""
    clear_jobstate_env(monkeypatch)
    before = asyncio._get_running_loop()
    yield
    asyncio._set_running_loop(before)


def run_here_in_order(pytester: pytest.Pytester, order: tuple[str, ...]) -> None:
    """The doors and the parker's users, run once in this process in ``order``."""
    run_in_order(pytester, PARKERS, order, run_here)


@pytest.mark.parametrize(
    "order",
    [
        pytest.param((*USERS, *DOORS), id="parker first"),
        pytest.param((*DOORS, *USERS), id="parker last"),
        pytest.param(("test_asked_late", *DOORS, "test_built_on"), id="asked late first"),
    ],
)
def test_each_door_sees_the_parked_loop_only_if_it_uses_it(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    run_here_in_order(pytester, order)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations((*USERS, *DOORS)))
def test_any_order_gives_the_same_verdict(pytester: pytest.Pytester, order: list[str]) -> None:
    run_here_in_order(pytester, tuple(order))


def test_what_one_thread_hid_is_never_shown_in_another() -> None:
    parked = asyncio.new_event_loop()
    seen_there: list[object] = []

    def elsewhere() -> None:
        reveal_hidden_loop()
        seen_there.append(asyncio._get_running_loop())

    asyncio._set_running_loop(parked)
    try:
        with loop_set_aside():
            assert asyncio._get_running_loop() is None
            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
            reveal_hidden_loop()
            assert asyncio._get_running_loop() is parked
        assert asyncio._get_running_loop() is parked
    finally:
        asyncio._set_running_loop(None)
        parked.close()
    assert seen_there == [None]
