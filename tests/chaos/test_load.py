"""Load: 200 jobs through one 4-child prefork worker while 200 pollers read the API at 1 Hz.

``jobstate worker`` (4 children) runs the jobs and ``jobstate serve`` (uvicorn, its own
process, as deployed) answers the pollers (:mod:`tests.chaos.pollers`, one asyncio httpx
client in a process of its own): each job's state read once a second as the page does,
until the job ends. Every job must end
complete with zero illegal transitions (the chaos summary checks each one). The API's
request latencies are measured at the client and printed and written with the summary
(``test-results/chaos-summary.*``); the goal, p99 at most 25 ms, is reported, never
asserted: timings belong to the report, not to a pass or a fail.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.runner import JobRunner
from pipeline.procs.redis_server import free_port
from pipeline.procs.worker_process import DEFAULT_ENTRY, WorkerProcess
from pipeline.settings import Settings
from pipeline.waiting import wait_until
from tests.chaos.apps import TARGET, work_url

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

JOBS = 200
CHILDREN = 4
STAGE_MS = 60
GOAL_P99_MS = 25.0


@pytest.fixture
def jobstate_worker(jobstate_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` with four prefork children."""
    return jobstate_worker_factory(concurrency=CHILDREN, entry=DEFAULT_ENTRY)


@pytest.fixture
def api_url(
    pipeline_settings: Settings, tmp_path: Path, jobstate_import_path: tuple[str, ...]
) -> Iterator[str]:
    """Function: ``jobstate serve`` for the chaos app in its own process; its base URL.

    Started on a free port and awaited on ``/healthz``; stopped at teardown.
    """
    port = free_port()
    env = {
        **os.environ,
        **pipeline_settings.to_env(),
        "PYTHONPATH": os.pathsep.join([*jobstate_import_path, os.environ.get("PYTHONPATH", "")]),
    }
    argv = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port), "--app", TARGET]
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _healthy(url, proc), timeout=30, what="jobstate serve answering")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"jobstate serve exited with {proc.returncode}")
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _poll_in_a_process(
    url: str, job_ids: list[str], folder: Path, import_path: tuple[str, ...]
) -> dict[str, Any]:
    """Run :mod:`tests.chaos.pollers` over ``job_ids``; what it saw."""
    ids, out = folder / "job-ids.txt", folder / "polls.json"
    ids.write_text("\n".join(job_ids))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(import_path)}
    argv = [sys.executable, "-m", "tests.chaos.pollers", url, str(ids), str(out)]
    subprocess.run(argv, env=env, check=True, timeout=300)
    polls: dict[str, Any] = json.loads(out.read_text())
    return polls


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def test_200_jobs_on_4_children_while_200_pollers_read_the_api(
    job_runner: JobRunner,
    chaos_scenario: StartScenario,
    api_url: str,
    jobstate_worker: WorkerProcess,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    jobstate_import_path: tuple[str, ...],
) -> None:
    scenario = chaos_scenario(
        f"load: {JOBS} jobs, {CHILDREN} children, {JOBS} pollers at 1 Hz", "none (load only)"
    )
    began = time.monotonic()
    job_ids = [job_runner.submit(work_url(STAGE_MS)) for _ in range(JOBS)]
    polls = _poll_in_a_process(api_url, job_ids, tmp_path, jobstate_import_path)
    elapsed = time.monotonic() - began

    assert polls["failures"] == []
    records = [job_runner.wait_terminal(job_id, timeout=30) for job_id in job_ids]
    assert [r["status"] for r in records] == ["COMPLETE"] * JOBS
    assert all(polls["last"][job_id] == "COMPLETE" for job_id in job_ids)
    latencies = polls["latencies_ms"]
    figures = {
        "API requests": len(latencies),
        "API p50 ms": round(_percentile(latencies, 50), 2),
        "API p99 ms": round(_percentile(latencies, 99), 2),
        "API max ms": round(max(latencies), 2),
        f"goal p99 <= {GOAL_P99_MS:g} ms": "met"
        if _percentile(latencies, 99) <= GOAL_P99_MS
        else "not met",
        "jobs per second": round(JOBS / elapsed, 2),
        "seconds": round(elapsed, 1),
        "machine load (1 min)": round(os.getloadavg()[0], 1),
    }
    for name, value in figures.items():
        scenario.figure(name, value)
    with capsys.disabled():
        print("\n[load] " + ", ".join(f"{k}: {v}" for k, v in figures.items()))
