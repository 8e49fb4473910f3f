"""The audit's state machine fails when the API shows what the store never held.

The machine runs on the fast tier here (eager Celery, fake Redis): submits and faults
reach the store as on real workers, and the API the machine reads is a small server
that answers every job with a state the job never had. The audit on real workers runs
the same machine against the app's own web app (``tests/audit/test_seeded_mistakes.py``
and the examples' audit).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import settings

from harness.testing.audit.machine import MachineWorld, run_audit_machine
from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.store import JobStore

QUICK = settings(max_examples=3, stateful_step_count=4, deadline=None, database=None)


def _lying_api(answer: Callable[[str], dict[str, Any]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(answer(self.path.rsplit("/", 1)[-1])).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def lying_api() -> Iterator[str]:
    """Function: an API that says every job is DONE at version 1 (never true: v1 is its
    creation, in the initial status)."""
    yield from _lying_api(lambda job_id: {"job_id": job_id, "status": "COMPLETE", "version": 1})


@pytest.fixture
def lying_world(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_store: JobStore,
    state_recorder: StateRecorder,
    lying_api: str,
) -> MachineWorld:
    """Function: the machine's world on this test's store, reading the lying API."""
    return MachineWorld(
        job_runner,
        fault_injector,
        state_store,
        state_recorder,
        lying_api,
        lambda: "http://x/a",
        faults=("raise",),  # eager: no prefork child to exit or kill
    )


def test_the_machine_catches_an_api_that_shows_a_state_never_stored(
    lying_world: MachineWorld,
) -> None:
    result = run_audit_machine(lying_world, QUICK)
    assert result.ran
    assert not result.ok
    assert "API shows" in result.reason
    assert result.counterexample is not None
    # Hypothesis's replayable steps, from the job every run starts with
    assert "state.first_job()" in result.counterexample


SMALLEST = settings(max_examples=1, stateful_step_count=1, deadline=None, database=None)


def test_the_smallest_machine_catches_it_every_time(lying_world: MachineWorld) -> None:
    # Slip: a run whose draws held no submit (a lone settle) checked nothing, so the
    # machine passed a lying API by luck; every run now starts with a job.
    reasons = [run_audit_machine(lying_world, SMALLEST).reason for _ in range(8)]
    assert all("API shows" in reason for reason in reasons), reasons
