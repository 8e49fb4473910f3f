"""Scale-out tests: a real Redis Cluster, Sentinel failover, several worker hosts.

Each module forces its topology with ``@pytest.mark.jobstate_redis(...)``; the ``scale``
tox tier runs them (``pytest -m scale``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.scale.apps import TARGET

URL = "https://media.example.com/talks/scale.mp3"


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the scale app (short stages that record which worker ran them)."""
    return TARGET


class Stopwatch:
    """Seconds since it was started, and named laps for the test's printed report."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> float:
        """Record (and return) the seconds from the start to now under ``name``."""
        self.laps[name] = time.monotonic() - self.start
        return self.laps[name]


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Function: print a line to the terminal even when output is captured."""

    def say(line: str) -> None:
        with capsys.disabled():
            print(f"\n[scale] {line}", end="")

    return say
