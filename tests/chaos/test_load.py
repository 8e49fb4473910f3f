"""Load: 200 jobs through one 4-child prefork worker while 200 pollers read the API at 1 Hz.

``jobstate worker`` (4 children) runs the jobs and ``jobstate serve`` (uvicorn, its own
process, as deployed) answers the pollers: one asyncio httpx client per job, polling the
job's state once a second as the page does, until the job ends. Every job must end
complete with zero illegal transitions (the chaos summary checks each one). The API's
request latencies are measured at the client and printed and written with the summary
(``test-results/chaos-summary.*``); the goal, p99 at most 25 ms, is reported, never
asserted: timings belong to the report, not to a pass or a fail.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from harness.chaos import StartScenario
from harness.redis_proc import free_port
from harness.runner import JobRunner
from harness.waiting import wait_until
from harness.worker_proc import DEFAULT_ENTRY, WorkerProcess
from pipeline.settings import Settings
from pipeline.workflow import PRD_WORKFLOW
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
POLL_SECONDS = 1.0
GOAL_P99_MS = 25.0
TERMINAL = PRD_WORKFLOW.terminal


@pytest.fixture
def celery_worker(chaos_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` with four prefork children."""
    return chaos_worker_factory(concurrency=CHILDREN, entry=DEFAULT_ENTRY)


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


@dataclass
class Polls:
    """What the pollers saw: each request's latency, and answers that were not 200."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)


async def _poll(
    client: httpx.AsyncClient, job_id: str, polls: Polls, deadline: float, phase: float
) -> None:
    """Read one job once a second (the next read a second after the last began) until it
    ends, starting ``phase`` seconds in: pages opened at different moments poll out of step."""
    await asyncio.sleep(phase)
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            answer = await client.get(f"/api/jobs/{job_id}")
        except httpx.HTTPError as exc:
            polls.failures.append(f"{job_id}: {type(exc).__name__}")
        else:
            polls.latencies_ms.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200:
                polls.failures.append(f"{job_id}: HTTP {answer.status_code}")
            else:
                polls.last[job_id] = answer.json()["status"]
                if polls.last[job_id] in TERMINAL:
                    return
        await asyncio.sleep(max(0.0, POLL_SECONDS - (time.perf_counter() - began)))


async def _poll_all(url: str, job_ids: list[str], timeout: float) -> Polls:
    polls = Polls()
    # Idle connections are dropped before the server's 5 s keep-alive ends, as browsers
    # do, so no request races the server closing its connection.
    limits = httpx.Limits(
        max_connections=len(job_ids), max_keepalive_connections=len(job_ids), keepalive_expiry=2
    )
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        phases = random.Random(JOBS).sample(range(1000), len(job_ids))
        await asyncio.gather(
            *(
                _poll(client, job_id, polls, deadline, phase / 1000 * POLL_SECONDS)
                for job_id, phase in zip(job_ids, phases, strict=True)
            )
        )
    return polls


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def test_200_jobs_on_4_children_while_200_pollers_read_the_api(
    job_runner: JobRunner,
    chaos_scenario: StartScenario,
    api_url: str,
    celery_worker: WorkerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = chaos_scenario(
        f"load: {JOBS} jobs, {CHILDREN} children, {JOBS} pollers at 1 Hz", "none (load only)"
    )
    began = time.monotonic()
    job_ids = [job_runner.submit(work_url(STAGE_MS)) for _ in range(JOBS)]
    polls = asyncio.run(_poll_all(api_url, job_ids, timeout=240))
    elapsed = time.monotonic() - began

    assert polls.failures == []
    records = [job_runner.wait_terminal(job_id, timeout=30) for job_id in job_ids]
    assert [r["status"] for r in records] == ["COMPLETE"] * JOBS
    assert all(polls.last[job_id] == "COMPLETE" for job_id in job_ids)
    latencies = polls.latencies_ms
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
