"""Tracked vs untracked: the same 4-stage no-op chain on the same real prefork worker.

Prints end-to-end latency (Redis clock, submit to final write) and throughput of both,
interleaved in one run, and their ratios. Target: tracked/untracked latency <= 1.15.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: keep bench/ from shadowing `pipeline`
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.apps import PLAIN, create_bench_app
from harness.redis_proc import RedisServer
from harness.waiting import wait_until
from harness.worker_proc import WorkerProcess
from pipeline.celery_app import enqueue
from pipeline.runtime import build_runtime
from pipeline.service import job_context
from pipeline.settings import Settings

JOBS = 100
BURST = 25


def _tracked(rt, app) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    write = rt.store.create("http://bench.invalid/x.mp3")
    enqueue(app, job_context(rt.store.get_state(write.job_id)))
    return write.job_id, write.ms


def _plain(rt, app) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    job_id = uuid.uuid4().hex
    start = rt.store.now_ms()
    app.tasks[PLAIN[0]].apply_async(args=[{"job_id": job_id}])
    return job_id, start


def _tracked_done(rt, job_id: str) -> int | None:  # type: ignore[no-untyped-def]
    rec = rt.store.find_state(job_id)
    if rec and rec["status"] == "COMPLETE":
        return int(rt.client.hget(rt.store.keys.state(job_id), "updated_ms"))
    return None


def _plain_done(rt, job_id: str) -> int | None:  # type: ignore[no-untyped-def]
    raw = rt.client.get(f"bench:done:{job_id}")
    return int(raw) if raw else None


def _latency(rt, app, kind: str) -> float:  # type: ignore[no-untyped-def]
    start_fn, done_fn = (_tracked, _tracked_done) if kind == "tracked" else (_plain, _plain_done)
    job_id, start = start_fn(rt, app)
    end = wait_until(lambda: done_fn(rt, job_id), 30, interval=0.002, what=kind)
    return float(end - start)


def _burst(rt, app, kind: str) -> float:  # type: ignore[no-untyped-def]
    start_fn, done_fn = (_tracked, _tracked_done) if kind == "tracked" else (_plain, _plain_done)
    t0 = time.perf_counter()
    ids = [start_fn(rt, app)[0] for _ in range(BURST)]
    for job_id in ids:
        wait_until(lambda j=job_id: done_fn(rt, j), 60, interval=0.002, what=kind)
    return BURST / (time.perf_counter() - t0)


def main() -> None:
    """Run the comparison and print the figures."""
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as server:
        settings = Settings(redis_url=server.url, queue="bench", key_prefix="bench",
                            work_dir=str(Path(tmp) / "work"), heartbeat_seconds=5.0)
        app = create_bench_app(settings)
        rt = build_runtime(settings, app=app)
        worker = WorkerProcess("bench.apps:create_bench_app", settings, concurrency=2,
                               log_dir=Path(tmp)).start(app)
        try:
            for kind in ("tracked", "plain"):  # warm up both paths
                _latency(rt, app, kind)
            lat: dict[str, list[float]] = {"tracked": [], "plain": []}
            for _ in range(JOBS):
                for kind in ("tracked", "plain"):
                    lat[kind].append(_latency(rt, app, kind))
            thr: dict[str, list[float]] = {"tracked": [], "plain": []}
            for _ in range(JOBS // BURST):
                for kind in ("tracked", "plain"):
                    thr[kind].append(_burst(rt, app, kind))
        finally:
            worker.stop()
            rt.close()
    med = {k: statistics.median(v) for k, v in lat.items()}
    tput = {k: statistics.median(v) for k, v in thr.items()}
    print(f"jobs per kind: {JOBS} (latency, one at a time), {JOBS} (throughput, bursts "
          f"of {BURST}), 4 no-op stages, prefork worker with 2 children")
    print(f"latency median  tracked {med['tracked']:.1f} ms   untracked {med['plain']:.1f} ms")
    print(f"latency ratio tracked/untracked: {med['tracked'] / med['plain']:.3f} "
          "(target <= 1.15)")
    print(f"throughput      tracked {tput['tracked']:.1f} jobs/s   "
          f"untracked {tput['plain']:.1f} jobs/s")
    print(f"throughput ratio tracked/untracked: {tput['tracked'] / tput['plain']:.3f}")


if __name__ == "__main__":
    main()
