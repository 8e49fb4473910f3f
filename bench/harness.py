"""Per-test cost of the plugin's real-worker and Redis fixtures against the usual plugins'.

Each variant runs the same number of small tests in its own pytest session (a subprocess,
as a user's run would be) in a throwaway project; a conftest hook adds up each test's
setup, call and teardown time. Printed side by side, in one run:

- the steady per-test cost: the median over every test but the first, and of its setup
  and teardown alone (for a kept worker: lending it and taking it back);
- the first test's cost: it also pays for what the session keeps (a worker, a server);
- the whole session's wall time (pytest's start included);
- the ratios of the usual plugins' steady per-test cost to ours.

Variants (every test does one round trip, so each worker is really used):

=====================  =========================================================
jobstate thread        ``job_runner``: one job through a one-stage workflow, on
                       the plugin's thread worker (``--jobstate-celery=thread``)
jobstate prefork       the same on its prefork worker subprocess
celery jobstate_worker   ``celery.contrib.pytest``'s ``jobstate_worker``: one task
                       round trip, broker and results on a real redis-server
jobstate redis_client  ``redis_client`` on the session redis-server: SET + GET
pytest-redis redisdb   pytest-redis's ``redisdb``: SET + GET
=====================  =========================================================

Run: ``python bench/harness.py [--tests 20]``. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# ``python bench/harness.py`` puts bench/ first on sys.path, where bench/pipeline.py would
# shadow the ``pipeline`` package: import the project's packages, not the neighbours.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from pipeline.procs.redis_server import RedisServer

TIMING_CONFTEST = """
import json
import os

PHASES = {}


def pytest_runtest_logreport(report):
    PHASES.setdefault(report.nodeid, {})[report.when] = report.duration


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(list(PHASES.values()), out)
"""

APP = """
from celery import Celery

from pipeline import Workflow
from pipeline.tracking import Tracker

app = Celery("mine")
flow = Workflow.linear(
    "mine",
    initial=("NEW", "Queued"),
    stages={"WORK": "Working"},
    done=("DONE", "Done"),
    error=("FAILED", "Failed"),
)
tracker = Tracker(app, flow)


@tracker.stage("WORK")
def work(ctx, run):
    ctx["result"] = {"answer": 42}
    return ctx
"""

JOB_TEST = """
def test_job_{n}(job_runner):
    job_id = job_runner.submit("https://example.com/in.mp3")
    assert job_runner.wait_for(job_id, "DONE", timeout=60)["result"] == {{"answer": 42}}
"""

CELERY_CONFTEST = """
import os

import pytest


@pytest.fixture(scope="session")
def celery_config():
    url = os.environ["BENCH_REDIS"]
    return {"broker_url": url, "result_backend": url}


@pytest.fixture(scope="session")
def celery_includes():
    return ["benchtasks"]
"""

CELERY_TASKS = """
from celery import shared_task


@shared_task
def add(a, b):
    return a + b
"""

CELERY_TEST = """
import benchtasks


def test_task_{n}(jobstate_worker):
    assert benchtasks.add.delay(2, 3).get(timeout=30) == 5
"""

REDIS_TEST = """
def test_redis_{n}({fixture}):
    {fixture}.set("key", "value")
    assert {fixture}.get("key") == b"value"
"""

INI = """[pytest]
{extra}
"""


@dataclass(frozen=True)
class Variant:
    """One kind of test, run ``tests`` times in a pytest session of its own."""

    name: str
    test: str
    args: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    ini: str = ""


@dataclass(frozen=True)
class Result:
    """The measured per-test costs of one variant (seconds): medians over tests 2..N."""

    name: str
    first: float
    steady: float
    setup: float
    teardown: float
    session: float


def variants(redis_exec: str) -> list[Variant]:
    """The five variants, in the order they are run and printed."""
    ours = (("mine.py", APP),)
    return [
        Variant(
            "jobstate thread",
            JOB_TEST,
            ("-p", "no:redis", "--jobstate-celery=thread", "--jobstate-redis=server"),
            ours,
            "jobstate_app = mine:app",
        ),
        Variant(
            "jobstate prefork",
            JOB_TEST,
            ("-p", "no:redis", "--jobstate-celery=prefork", "--jobstate-redis=server"),
            ours,
            "jobstate_app = mine:app",
        ),
        Variant(
            "celery jobstate_worker",
            CELERY_TEST,
            ("-p", "no:jobstate", "-p", "no:redis", "-p", "celery.contrib.pytest"),
            (("benchtasks.py", CELERY_TASKS), ("bench_celery_conftest.py", CELERY_CONFTEST)),
        ),
        Variant(
            "jobstate redis_client",
            REDIS_TEST.replace("{fixture}", "redis_client"),
            ("-p", "no:redis", "--jobstate-redis=server"),
            ours,
            "jobstate_app = mine:app",
        ),
        Variant(
            "pytest-redis redisdb",
            REDIS_TEST.replace("{fixture}", "redisdb"),
            ("-p", "no:jobstate", f"--redis-exec={redis_exec}"),
        ),
    ]


def run_variant(variant: Variant, tests: int, workdir: Path, redis_url: str) -> Result:
    """Write the variant's project, run its session and read the per-test times."""
    project = workdir / variant.name.replace(" ", "-")
    project.mkdir()
    conftest = TIMING_CONFTEST
    for name, text in variant.files:
        if name == "bench_celery_conftest.py":
            conftest += text
        else:
            (project / name).write_text(text, encoding="utf-8")
    (project / "conftest.py").write_text(conftest, encoding="utf-8")
    (project / "pytest.ini").write_text(INI.format(extra=variant.ini), encoding="utf-8")
    body = "".join(variant.test.format(n=n) for n in range(tests))
    (project / "test_bench.py").write_text(body, encoding="utf-8")
    out = project / "times.json"
    env = {**os.environ, "BENCH_OUT": str(out), "BENCH_REDIS": redis_url}
    env = {k: v for k, v in env.items() if k not in {"JOBSTATE_CELERY", "JOBSTATE_REDIS"}}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *variant.args]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)
    session = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"{variant.name}: pytest failed\n{done.stdout[-3000:]}{done.stderr}")
    phases = json.loads(out.read_text(encoding="utf-8"))
    totals = [sum(p.values()) for p in phases]

    def steady(when: str) -> float:
        return statistics.median(p.get(when, 0.0) for p in phases[1:])

    return Result(
        variant.name,
        first=totals[0],
        steady=statistics.median(totals[1:]),
        setup=steady("setup"),
        teardown=steady("teardown"),
        session=session,
    )


def report(results: list[Result], tests: int) -> None:
    """Print the table and the ratios."""
    by_name = {r.name: r for r in results}
    print(f"per-test cost, {tests} tests per session; steady = median over tests 2..{tests}")
    head = ["variant", "steady", "setup", "teardown", "first test", "session"]
    print(f"{head[0]:<24}" + "".join(f"{h:>12}" for h in head[1:]))
    for r in results:
        cells = [f"{v * 1000:.1f} ms" for v in (r.steady, r.setup, r.teardown)]
        cells += [f"{r.first:.2f} s", f"{r.session:.1f} s"]
        print(f"{r.name:<24}" + "".join(f"{c:>12}" for c in cells))
    print("ratios of steady per-test cost (higher: ours is cheaper)")
    pairs = [
        ("celery jobstate_worker", "jobstate thread"),
        ("celery jobstate_worker", "jobstate prefork"),
        ("pytest-redis redisdb", "jobstate redis_client"),
    ]
    for theirs, ours in pairs:
        ratio = by_name[theirs].steady / by_name[ours].steady
        print(f"  {theirs} / {ours}: {ratio:.1f}x")


def main() -> None:
    """Run every variant on this machine and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20, help="tests per session (>= 2)")
    args = parser.parse_args()
    redis_exec = shutil.which("redis-server")
    if redis_exec is None:
        raise SystemExit(
            "redis-server not found on PATH: install it (apt-get install redis-server)"
        )
    tests = max(2, args.tests)
    with tempfile.TemporaryDirectory(prefix="jobstate-bench-") as tmp, RedisServer() as server:
        results = [run_variant(v, tests, Path(tmp), server.url) for v in variants(redis_exec)]
    report(results, tests)


if __name__ == "__main__":
    main()
