"""Tracked vs untracked: the same 4-stage no-op chain on the same real prefork worker.

Prints end-to-end latency (submit to the end of the last task) and throughput of both,
interleaved in one run, and their ratios. Goal: tracked/untracked latency <= 1.25 on AOF
``everysec``.
Beside them, interleaved in the same run, the floor: the untracked chain plus a bare
PING wherever the tracker makes a round trip (the create at submit, each stage's entry,
the final write: six). floor/untracked is what those round trips alone cost;
tracked/floor is what the writes cost beyond them (the scripts, validation, our Python).
Then where the difference goes: each stage task's median run time as Celery logged it in
the worker ("succeeded in"), tracked and untracked side by side, per stage.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: keep bench/ from shadowing `pipeline`
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from celery import Celery

from bench.apps import DONE_LIST, FLOOR, PLAIN, TRACKED_STAGES, create_bench_app
from pipeline.celery_app import enqueue
from pipeline.procs.redis_server import RedisServer
from pipeline.procs.worker_process import WorkerProcess
from pipeline.runtime import Runtime, build_runtime
from pipeline.service import job_context
from pipeline.settings import Settings

JOBS = 100
BURST = 25


class Finish:
    """Waits for completion announcements (BLPOP on one list, no polling)."""

    def __init__(self, rt: Runtime) -> None:
        self.client = rt.client

    def wait(self, job_ids: set[str], timeout: float = 60.0) -> None:
        """Return once every job in ``job_ids`` has finished its last task."""
        while job_ids:
            popped = self.client.blpop([DONE_LIST], timeout=timeout)
            if popped is None:
                raise TimeoutError(f"{len(job_ids)} jobs did not complete")
            job_ids.discard(popped[1].decode())


def _tracked(rt: Runtime, app: Celery) -> str:
    url = "http://bench.invalid/x.mp3"
    write = rt.store.create(url)
    enqueue(
        app,
        job_context(
            {
                "job_id": write.job_id,
                "attempt": write.attempt,
                "metadata": {"url": url, "space_id": None},
            }
        ),
    )
    return write.job_id


def _plain(rt: Runtime, app: Celery) -> str:
    job_id = uuid.uuid4().hex
    app.tasks[PLAIN[0]].apply_async(args=[{"job_id": job_id}])
    return job_id


def _floor(rt: Runtime, app: Celery) -> str:
    job_id = uuid.uuid4().hex
    rt.client.ping()  # where the tracked chain creates its record
    app.tasks[FLOOR[0]].apply_async(args=({"job_id": job_id},))
    return job_id


STARTS = {"tracked": _tracked, "plain": _plain, "floor": _floor}
KINDS = tuple(STARTS)


def _latency(rt: Runtime, app: Celery, done: Finish, kind: str) -> float:
    t0 = time.perf_counter()
    done.wait({STARTS[kind](rt, app)})
    return (time.perf_counter() - t0) * 1000


def _burst(rt: Runtime, app: Celery, done: Finish, kind: str) -> float:
    t0 = time.perf_counter()
    done.wait({STARTS[kind](rt, app) for _ in range(BURST)})
    return BURST / (time.perf_counter() - t0)


_SUCCEEDED = re.compile(rb"Task (\S+)\[[^]]*\] succeeded in ([0-9.e-]+)s")


def stage_times(log: bytes) -> dict[str, float]:
    """Each task's median run time in microseconds, from a worker log's "succeeded in"."""
    runs: dict[str, list[float]] = defaultdict(list)
    for match in _SUCCEEDED.finditer(log):
        runs[os.fsdecode(match[1])].append(float(match[2]) * 1e6)
    return {name: statistics.median(times) for name, times in runs.items()}


def measure(appendfsync: str) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Median latency (ms) and throughput (jobs/s) of every kind on one server, and each
    stage task's median run time in the worker (us)."""
    config = {"appendfsync": appendfsync}
    with tempfile.TemporaryDirectory() as tmp, RedisServer(extra_config=config) as server:
        settings = Settings(
            redis_url=server.url,
            queue="bench",
            key_prefix="bench",
            work_dir=str(Path(tmp) / "work"),
            heartbeat_seconds=5.0,
        )
        app = create_bench_app(settings)
        rt = build_runtime(settings, app=app)
        worker = WorkerProcess(
            "bench.apps:create_bench_app",
            settings,
            concurrency=2,
            log_dir=Path(tmp),
            extra_env={"JOBSTATE_FAULTS": "0"},
        ).start(app)
        try:
            done = Finish(rt)
            for kind in KINDS:  # warm up every path
                _latency(rt, app, done, kind)
            lat: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for _ in range(JOBS):
                for kind in KINDS:
                    lat[kind].append(_latency(rt, app, done, kind))
            thr: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for _ in range(JOBS // BURST):
                for kind in KINDS:
                    thr[kind].append(_burst(rt, app, done, kind))
        finally:
            worker.stop()
            rt.close()
        stages = stage_times(worker.log_path.read_bytes())
    med = {k: statistics.median(v) for k, v in lat.items()}
    tput = {k: statistics.median(v) for k, v in thr.items()}
    return med, tput, stages


def main() -> None:
    """Run the comparison on both AOF fsync policies and print the figures."""
    print(
        f"jobs per kind: {JOBS} (latency, one at a time), {JOBS} (throughput, bursts "
        f"of {BURST}), 4 no-op stages, prefork worker with 2 children; kinds interleaved: "
        f"{', '.join(KINDS)}"
    )
    for appendfsync in ("everysec", "always"):
        med, tput, stages = measure(appendfsync)
        print(f"redis-server AOF appendfsync {appendfsync}:")
        print(
            f"  latency median  tracked {med['tracked']:.1f} ms   "
            f"untracked {med['plain']:.1f} ms   "
            f"ratio {med['tracked'] / med['plain']:.3f} (goal <= 1.25 on everysec)"
        )
        print(
            f"  floor           untracked + 6 bare round trips {med['floor']:.1f} ms: "
            f"floor/untracked {med['floor'] / med['plain']:.3f} (the round trips alone), "
            f"tracked/floor {med['tracked'] / med['floor']:.3f} (the writes beyond them)"
        )
        print(
            f"  throughput      tracked {tput['tracked']:.1f} jobs/s   "
            f"untracked {tput['plain']:.1f} jobs/s   "
            f"ratio {tput['tracked'] / tput['plain']:.3f}"
        )
        print("  per stage in the worker (median run time, tracked | untracked | difference):")
        for i, status in enumerate(TRACKED_STAGES):
            tracked = stages.get(f"bench.tracked.{status.lower()}", 0.0)
            plain = stages.get(PLAIN[i], 0.0)
            print(
                f"    {status:<20} {tracked:7.0f} us | {plain:7.0f} us | {tracked - plain:+7.0f} us"
            )


if __name__ == "__main__":
    main()
