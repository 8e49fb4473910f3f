"""Any mix of Redis and Celery modes in one session, in any order, gives the same verdicts.

A user's app is one Celery instance that each test binds to its own Redis and puts back:
whatever an earlier test in another mode cached (pools, remote control) must not reach the
next one.
"""

from __future__ import annotations

import pytest
from celery import Celery

from harness.testing.workers.app_binding import AppBinding
from tests.plugin.user_project import REVERSED_ORDER, clear_jobstate_env, run, write_project

MIXED_TESTS = """
import pytest

server, fake_tcp = pytest.mark.jobstate_redis("server"), pytest.mark.jobstate_redis("fake-tcp")
thread, prefork = pytest.mark.jobstate_celery("thread"), pytest.mark.jobstate_celery("prefork")


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("thread on fake-tcp", marks=[fake_tcp, thread]),
        pytest.param("prefork on server", marks=[server, prefork]),
        pytest.param("thread on server", marks=[server, thread]),
        pytest.param("prefork on fake-tcp", marks=[fake_tcp, prefork]),
        pytest.param("eager on fake"),
        pytest.param("eager on server", marks=[server]),
    ],
)
def test_a_job_completes(mode, job_runner, jobstate_worker):
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "DONE", timeout=60)["result"]["answer"] == 42
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_*`` variable of this run reaches the inner runs."""
    clear_jobstate_env(monkeypatch)


@pytest.mark.prefork
@pytest.mark.parametrize("order", ["written", "reversed"])
def test_every_mode_passes_after_every_other(pytester: pytest.Pytester, order: str) -> None:
    write_project(pytester)
    pytester.makepyfile(MIXED_TESTS)
    if order == "reversed":
        pytester.makeconftest(REVERSED_ORDER)
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=6)


def _publish_url(app: Celery) -> str:
    """Where the app's remote control would publish its next command."""
    with app.control.mailbox.producer_pool.acquire() as producer:
        return str(producer.connection.as_uri())


def test_remote_control_follows_the_app_to_its_new_broker() -> None:
    app = Celery("mixed", broker="redis://127.0.0.1:9/0", set_as_current=False)
    first = AppBinding(app, {"broker_url": "redis://127.0.0.1:11/0"})
    assert ":11/" in _publish_url(app)
    first.restore()
    AppBinding(app, {"broker_url": "redis://127.0.0.1:12/0"})
    assert ":12/" in _publish_url(app)  # no broker is reached: pools connect lazily
