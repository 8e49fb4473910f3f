"""Hypothesis profile and a store factory for the property and state-machine tests.

Examples need fresh stores but pytest fixtures run once per test, so tests take
``store_factory`` and build one store per example, each under its own key prefix on the
test's Redis (fake by default, the real server with ``--jobstate-redis=server``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import warnings

import pytest
from hypothesis import HealthCheck, settings

from harness.machines import StoreFactory
from harness.testing.redis.backend import RedisBackend
from pipeline.store import JobStore
from pipeline.workflow import Workflow

# On a failure Hypothesis imports libcst to suggest a patch; libcst (when installed) warns
# on import, which ``filterwarnings = error`` would turn into an INTERNALERROR hiding the
# failing example. Import it once here, quietly.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

settings.register_profile(
    "jobstate",
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    database=None,
    print_blob=True,
    # The only function-scoped fixture these tests use is a factory: every example
    # builds its own store, so nothing leaks from one example to the next.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "jobstate-thorough",
    parent=settings.get_profile("jobstate"),
    max_examples=1000,
    stateful_step_count=50,
)
settings.register_profile(
    # The fast loop (tox -e py): the machines still run on every workflow and store, with
    # a smaller budget; the full run gives them the "jobstate" one.
    "jobstate-fast",
    parent=settings.get_profile("jobstate"),
    max_examples=15,
    stateful_step_count=15,
)
settings.load_profile(os.environ.get("JOBSTATE_HYPOTHESIS_PROFILE", "jobstate"))


@pytest.fixture
def store_factory(redis_backend: RedisBackend) -> StoreFactory:
    """Function: builds an empty :class:`JobStore` for a workflow under a new key prefix."""
    counter = itertools.count()
    base = redis_backend.settings

    def factory(workflow: Workflow) -> JobStore:
        prefix = f"{base.key_prefix}-{next(counter)}"
        return JobStore(redis_backend.client, workflow, base.with_(key_prefix=prefix))

    return factory
