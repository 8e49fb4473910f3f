"""The doors through which a test's code runs an event loop, as a user's project: shared by
the gate tests with a stand-in parker (in process) and with a real browser (subprocess).

:data:`LOOP_DOORS` is a test module's body of doors that never use a parked loop; a caller
appends the tests that do (a parker, a browser) and runs the project in an order of its
choosing with :func:`run_in_order`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

LOOP_DOORS = """
import asyncio

import anyio
import pytest


async def tick():
    await asyncio.sleep(0)
    return 1


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
"""A second module, so that its module fixture is torn down when the run moves on."""

DOORS = (
    "test_asyncio_run",
    "test_anyio_run",
    "test_new_loop",
    "test_function_fixture",
    "test_session_fixture",
    "test_async",
    "test_module_fixture",
)
"""The tests of :data:`LOOP_DOORS` and :data:`OTHER_MODULE`, none using a parked loop."""

ORDERED = """
import os


def pytest_collection_modifyitems(items):
    order = os.environ["LOOP_TEST_ORDER"].split(",")
    by_name = {item.originalname: item for item in items}
    items[:] = [by_name[name] for name in order]
"""


def run_in_order(
    pytester: pytest.Pytester,
    users: str,
    order: Sequence[str],
    run: Callable[..., pytest.RunResult],
) -> None:
    """Write the doors plus ``users`` (tests that use a parked loop) and run them once with
    ``run`` in ``order`` (test names without parameters): every test must pass."""
    pytester.makepyfile(test_doors=LOOP_DOORS + users, test_other=OTHER_MODULE)
    pytester.makeconftest(ORDERED)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOOP_TEST_ORDER", ",".join(order))
        result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=len(order))
