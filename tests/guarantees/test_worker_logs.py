"""A real prefork worker's log shows no secret of a job: not in Celery's "Task ...
succeeded in ...: <return value>" line, not in its "raised unexpected" line and
traceback for a stage's exception, not in anything a stage's progress writes.

Hypothesis drives a few jobs with secrets planted in every position of their input
(and in the stage's progress message and exception) through a real worker on a real
redis-server, then reads the worker's whole log since the test began.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.testing.runner import JobRunner
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow
from tests.guarantees.apps import DOORS
from tests.guarantees.hostile import Payload, payloads, secret_urls

pytestmark = [
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

DB_URL = "postgres://dbuser:DbPw-7731@db.internal/app"


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the app whose stage echoes its input as progress and result."""
    return "tests.guarantees.apps:doors_app"


@pytest.fixture
def jobstate_workflow() -> Workflow:
    """Function: the doors app's workflow."""
    return DOORS


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=payloads(secrets=3, clean=True),
    say=secret_urls("ZqSaidInProgress"),
    fail=st.booleans(),
)
@example(
    payload=Payload(
        {"db": {"url": DB_URL}, "token": "Tk-5519x", "password": "Pw-6614"},
        0,
        "dict",
        ("DbPw-7731", "Tk-5519x", "Pw-6614"),
        "the issue's case",
    ),
    say=DB_URL,
    fail=True,
)
def test_a_workers_log_shows_no_secret_of_a_job(
    job_runner: JobRunner, jobstate_worker: Any, payload: Payload, say: str, fail: bool
) -> None:
    # Slips: a stage task returning the job context (Celery logs the return value); a
    # stage's exception text logged raw by Celery; stage messages sent unredacted.
    mark = jobstate_worker.log_size()
    spec: dict[str, Any] = {"say": say, "depth": 0}
    if fail:
        spec["raise"] = f"cannot connect to {say}"
    job_id = job_runner.submit({**payload.build(), **spec})
    final = job_runner.wait_for(job_id, "FAILED" if fail else "DONE", timeout=60)
    # Celery writes its own line for the task just after the stage wrote the final status.
    celerys_line = "raised unexpected" if fail else " succeeded in "

    def log_with_celerys_line() -> str:
        text = jobstate_worker.log_path.read_bytes()[mark:].decode(errors="replace")
        return text if celerys_line in text else ""

    log = wait_until(log_with_celerys_line, 30, what=f"the worker's {celerys_line!r} line")
    for marker in (*payload.markers, "ZqSaidInProgress", "DbPw-7731"):
        assert marker not in log, f"the worker's log shows {marker}"
        assert marker not in str(final)
