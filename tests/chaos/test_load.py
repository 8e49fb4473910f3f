"""Load: jobs through one 4-child prefork worker while 200, then 1,000 pollers read the API.

``jobstate worker`` (4 children) runs the jobs and ``jobstate serve --workers 2`` (two
uvicorn processes on one port, as deployed for many watchers) answers the pollers
(:mod:`harness.testing.pollers` in a process of its own): each watches one job's page as the
page does, once a second with the ``ETag`` it holds, until the job ends. The first phase
sends 200 jobs under 200 pollers, the second 200 more under 1,000 (five watchers a job).
Every job must end complete with zero illegal transitions (the chaos summary checks each
one), every poller must have seen its job complete, and no request may fail. The API's
latencies are measured at the client and printed and written with the summary
(``test-results/chaos-summary.*``) with the share of 304s and p99(1,000)/p99(200); the
goals (p99 at most 25 ms, that ratio at most 1.5) are reported, never asserted: timings
belong to the report, not to a pass or a fail.
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
SERVERS = 2
PHASES = (200, 1000)
CHILDREN = 4
STAGE_MS = 60
GOAL_P99_MS = 25.0
GOAL_RATIO = 1.5


@pytest.fixture
def jobstate_worker(jobstate_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` with four prefork children."""
    return jobstate_worker_factory(concurrency=CHILDREN, entry=DEFAULT_ENTRY)


@pytest.fixture
def api_url(
    pipeline_settings: Settings, tmp_path: Path, jobstate_import_path: tuple[str, ...]
) -> Iterator[str]:
    """Function: ``jobstate serve --workers 2`` for the chaos app; its base URL.

    Started on a free port and awaited on ``/healthz``; stopped at teardown.
    """
    port = free_port()
    env = {
        **os.environ,
        **pipeline_settings.to_env(),
        "PYTHONPATH": os.pathsep.join([*jobstate_import_path, os.environ.get("PYTHONPATH", "")]),
    }
    argv = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port), "--app", TARGET]
    argv += ["--workers", str(SERVERS)]
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
    url: str, job_ids: list[str], pollers: int, folder: Path, import_path: tuple[str, ...]
) -> dict[str, Any]:
    """Run :mod:`harness.testing.pollers` with ``pollers`` watchers over ``job_ids``;
    what it saw."""
    ids, out = folder / f"job-ids-{pollers}.txt", folder / f"polls-{pollers}.json"
    ids.write_text("\n".join(job_ids))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(import_path)}
    argv = [sys.executable, "-m", "harness.testing.pollers", url, str(ids), str(out)]
    argv += ["--pollers", str(pollers)]
    subprocess.run(argv, env=env, check=True, timeout=300)
    polls: dict[str, Any] = json.loads(out.read_text())
    return polls


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _phase(
    job_runner: JobRunner, url: str, pollers: int, folder: Path, import_path: tuple[str, ...]
) -> dict[str, Any]:
    """Send :data:`JOBS` jobs and watch them with ``pollers`` pollers; checks what must
    hold and returns the figures."""
    began = time.monotonic()
    job_ids = [job_runner.submit(work_url(STAGE_MS)) for _ in range(JOBS)]
    polls = _poll_in_a_process(url, job_ids, pollers, folder, import_path)
    elapsed = time.monotonic() - began

    assert polls["failures"] == []
    records = [job_runner.wait_terminal(job_id, timeout=30) for job_id in job_ids]
    assert [r["status"] for r in records] == ["COMPLETE"] * JOBS
    assert all(polls["last"][job_id] == "COMPLETE" for job_id in job_ids)
    assert polls["changed"] >= pollers  # each poller read its job's record at least once
    latencies = polls["latencies_ms"]
    answered = polls["changed"] + polls["unchanged"]
    return {
        "requests": len(latencies),
        "p50 ms": round(_percentile(latencies, 50), 2),
        "p99 ms": round(_percentile(latencies, 99), 2),
        "max ms": round(max(latencies), 2),
        "304 share": round(polls["unchanged"] / answered, 2),
        "jobs per second": round(JOBS / elapsed, 2),
    }


def test_jobs_on_4_children_while_200_then_1000_pollers_read_the_api(
    job_runner: JobRunner,
    chaos_scenario: StartScenario,
    api_url: str,
    jobstate_worker: WorkerProcess,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    jobstate_import_path: tuple[str, ...],
) -> None:
    scenario = chaos_scenario(
        f"load: {JOBS} jobs under 200 pollers, {JOBS} more under 1000, {CHILDREN} children, 1 Hz",
        "none (load only)",
    )
    phases = {n: _phase(job_runner, api_url, n, tmp_path, jobstate_import_path) for n in PHASES}
    p99 = {n: figures["p99 ms"] for n, figures in phases.items()}
    ratio = p99[1000] / p99[200] if p99[200] else float("inf")
    figures: dict[str, Any] = {
        f"{n} pollers {name}": value for n, got in phases.items() for name, value in got.items()
    }
    figures |= {
        "p99 1000/200": round(ratio, 2),
        f"goal p99 <= {GOAL_P99_MS:g} ms at 1000": "met" if p99[1000] <= GOAL_P99_MS else "not met",
        f"goal p99 ratio <= {GOAL_RATIO:g}": "met" if ratio <= GOAL_RATIO else "not met",
        "server processes": SERVERS,
        "machine load (1 min)": round(os.getloadavg()[0], 1),
    }
    for name, value in figures.items():
        scenario.figure(name, value)
    with capsys.disabled():
        for n in PHASES:
            got = phases[n]
            print(
                f"\n[load] {n} pollers ... p50 {got['p50 ms']} ms, p99 {got['p99 ms']} ms, "
                f"max {got['max ms']} ms, {got['304 share']:.0%} 304, {got['requests']} requests"
            )
        print(
            f"[load] p99 1000/200: {ratio:.2f}; "
            + ", ".join(
                f"{k}: {v}" for k, v in figures.items() if k.startswith(("goal", "machine"))
            )
        )
