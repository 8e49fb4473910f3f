"""A Hypothesis state machine drives the store through the resize workflow."""

from __future__ import annotations

import itertools

import pytest
from harness.machines import StoreFactory, run_machine
from harness.strategies import job_inputs
from harness.testing.redis.backend import RedisBackend
from hypothesis import settings
from hypothesis import strategies as st
from pipeline.store import JobStore
from pipeline.workflow import Workflow

from resizer.workflow import MAX_SIDE, RESIZE

INPUTS = job_inputs(
    RESIZE,
    image=st.from_regex(r"[a-z][a-z0-9_-]{0,11}\.(png|jpg)", fullmatch=True),
    width=st.integers(1, MAX_SIDE),
    height=st.integers(1, MAX_SIDE),
)
QUICK = settings(max_examples=30, stateful_step_count=15, deadline=None, database=None)


def _stores(backend: RedisBackend) -> StoreFactory:
    """A fresh, empty store per example: its own key prefix on the test's Redis."""
    counter = itertools.count()

    def fresh(workflow: Workflow) -> JobStore:
        return backend.store(workflow, key_prefix=f"{backend.settings.key_prefix}-{next(counter)}")

    return fresh


def test_the_resize_workflow_stays_legal_on_fake_redis(redis_backend: RedisBackend) -> None:
    run_machine(RESIZE, _stores(redis_backend), inputs=INPUTS, settings=QUICK)


@pytest.mark.jobstate_redis("server")
def test_the_resize_workflow_stays_legal_on_a_real_server(redis_backend: RedisBackend) -> None:
    run_machine(RESIZE, _stores(redis_backend), inputs=INPUTS, settings=QUICK)
