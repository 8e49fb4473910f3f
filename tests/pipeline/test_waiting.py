"""The one waiting loop refuses a time it can never reach, whichever door passes it in.

``wait_until`` is what every wait of the library and the harness goes through (a job
runner's ``wait_for``, the recorder, the page, the worker and server processes). A
timeout of ``nan`` made its deadline ``nan``, which no clock passes: the wait spun for
ever on a job that never came, as ``inf`` did on purpose.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.testing.runner import JobRunner
from pipeline.waiting import wait_until

NEVER_REACHED = st.sampled_from([math.nan, math.inf, -math.inf, "5", None, True])


def _never() -> bool:
    return False


def _raised_within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised, run aside so a wait that never ends fails this test instead
    of hanging it."""
    out: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test as it was
            out.append(exc)
        else:
            out.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return out[0]


@settings(max_examples=60, deadline=None)
@given(timeout=NEVER_REACHED)
def test_a_timeout_no_clock_reaches_is_refused_before_the_first_check(timeout: Any) -> None:
    checks: list[int] = []
    raised = _raised_within(5, lambda: wait_until(lambda: checks.append(1), timeout))
    assert isinstance(raised, ValueError), raised
    assert "timeout=" in str(raised)
    assert checks == []


@settings(max_examples=60, deadline=None)
@given(timeout=st.floats(min_value=-1e9, max_value=0.01), interval=st.floats(1e-6, 0.005))
def test_a_finite_timeout_ends_in_the_timeout_even_below_zero(
    timeout: float, interval: float
) -> None:
    checks: list[int] = []

    def check() -> bool:
        checks.append(1)
        return False

    with pytest.raises(TimeoutError, match="a job not met"):
        wait_until(check, timeout, interval=interval, what="a job")
    assert checks  # checked at least once, whatever time was left


@pytest.mark.parametrize(("interval", "refused"), [(5e-324, False), (0.0, True), (-1.0, True)])
def test_the_interval_bound_is_above_zero(interval: float, refused: bool) -> None:
    if refused:
        with pytest.raises(ValueError, match="interval="):
            wait_until(_never, 0, interval=interval)
    else:
        with pytest.raises(TimeoutError):
            wait_until(_never, 0, interval=interval)


def test_a_runner_told_to_wait_for_ever_says_so_at_once(job_runner: JobRunner) -> None:
    job_id = job_runner.submit("https://example.com/a.mp3")
    raised = _raised_within(
        5, lambda: job_runner.wait_for(job_id, "NEVER-A-STATUS", timeout=math.nan)
    )
    assert isinstance(raised, ValueError), raised
    assert "timeout=nan" in str(raised)
