"""Store benchmarks, measured side by side in one run on one private redis-server.

1. Write cost: one ``JobStore`` write (progress, transition) against one raw ``HSET`` of the
   same fields, interleaved on the same server and client; medians and their ratio
   (target <= 1.3: atomicity, fencing, history and indexes should cost little).
2. Stale sweep cost: ``mark_stale`` with 10,000 and with 100,000 stored jobs. The indexes
   should make the cost follow the jobs touched, not the jobs stored (target ratio ~ 1).

Run: ``python bench/store.py`` (``--help`` for sizes). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# ``python bench/store.py`` puts bench/ first on sys.path, where bench/pipeline.py would
# shadow the ``pipeline`` package: import the project's packages, not the neighbours.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import redis

from pipeline.batch import Batch
from pipeline.cleanup import mark_stale
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW

URL = "https://media.example.com/talks/keynote.mp3"


# -- helpers ------------------------------------------------------------------------------


def redis_ms(client: redis.Redis) -> int:
    """Redis server time in ms."""
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def wait_redis_ms(client: redis.Redis, past: int) -> int:
    """Poll Redis TIME until it is beyond ``past`` (5 s deadline)."""
    deadline = time.monotonic() + 5
    while (now := redis_ms(client)) <= past:
        if time.monotonic() > deadline:
            raise RuntimeError("Redis clock did not advance")
        time.sleep(0.002)
    return now


def timed(fn: Callable[[], object]) -> float:
    """Microseconds one call took."""
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def median(samples: Sequence[float]) -> float:
    """The median of ``samples``."""
    return statistics.median(samples)


# -- 1. write cost --------------------------------------------------------------------------


def progress_pair(store: JobStore, n: int) -> tuple[list[float], list[float]]:
    """Interleaved progress writes and HSETs of the same four fields."""
    client, job_id = store.client, store.create(URL).job_id
    raw_key = store.keys.state("raw-" + job_id)
    store_us: list[float] = []
    hset_us: list[float] = []
    for i in range(n):
        value = {"bytes": i * 4096, "of": n * 4096}
        fields = {
            "version": i + 2,
            "progress": json.dumps(value),
            "updated_ms": i,
            "heartbeat_ms": i,
        }

        def write_store(v: Any = value) -> object:
            return store.progress(job_id, v, attempt=1)

        def write_raw(f: dict[str, Any] = fields) -> object:
            return client.hset(raw_key, mapping=f)

        pair = (write_store, write_raw) if i % 2 else (write_raw, write_store)
        first, second = timed(pair[0]), timed(pair[1])
        store_us.append(first if i % 2 else second)
        hset_us.append(second if i % 2 else first)
    return store_us, hset_us


def transition_pair(store: JobStore, jobs: int) -> tuple[list[float], list[float]]:
    """Every happy-path transition of ``jobs`` jobs, each paired with an HSET."""
    client, happy = store.client, PRD_WORKFLOW.happy_path()
    ids = [store.create(URL).job_id for _ in range(jobs)]
    store_us: list[float] = []
    hset_us: list[float] = []
    for i, status in enumerate(happy[1:]):
        for job_id in ids:
            fields = {
                "status": status,
                "message": PRD_WORKFLOW.message(status),
                "error": "",
                "version": i + 2,
                "updated_ms": i,
                "heartbeat_ms": i,
                "progress": "",
                "runs": 1,
            }
            hset_us.append(timed(lambda f=fields, j=job_id: client.hset(f"raw-{j}", mapping=f)))
            store_us.append(timed(lambda s=status, j=job_id: store.set_state(j, s, attempt=1)))
    return store_us, hset_us


def report_writes(label: str, store_us: list[float], hset_us: list[float]) -> None:
    """Print medians and their ratio."""
    ms, mh = median(store_us), median(hset_us)
    print(
        f"write {label:<10} JobStore median {ms:7.1f} us | raw HSET median {mh:7.1f} us | "
        f"ratio {ms / mh:.2f} (target <= 1.3) | n={len(store_us)}"
    )


# -- 2. stale sweep cost ----------------------------------------------------------------------


def seed(store: JobStore, ids: Sequence[str], status: str, chunk: int = 5000) -> None:
    """Create ``ids`` and move them to ``status`` with pipelined store writes."""
    for start in range(0, len(ids), chunk):
        batch = Batch(store)
        for job_id in ids[start : start + chunk]:
            batch.create(URL, job_id=job_id)
            if status != PRD_WORKFLOW.initial:
                batch.set_state(job_id, status)
        batch.flush()


def sweep_time(client: redis.Redis, stored: int, stale: int) -> float:
    """Seconds ``mark_stale`` takes on a store of ``stored`` running jobs, ``stale`` silent."""
    store = JobStore(client, PRD_WORKFLOW, Settings(key_prefix=f"bench-{stored}-{stale}"))
    stage = PRD_WORKFLOW.happy_path()[1]
    seed(store, [f"stale-{n}" for n in range(stale)], stage)
    before = redis_ms(client)
    after = wait_redis_ms(client, before + 200)
    seed(store, [f"live-{n}" for n in range(stored - stale)], stage)
    older = (redis_ms(client) - (before + after) // 2) / 1000
    start = time.perf_counter()
    touched = mark_stale(store, older_than=older)
    elapsed = time.perf_counter() - start
    if len(touched) != stale:
        raise RuntimeError(f"expected {stale} stale jobs, the sweep touched {len(touched)}")
    return elapsed


def report_sweeps(client: redis.Redis) -> None:
    """Sweep 10k and 100k stores: same stale count, then 1% stale each."""
    small, large = 10_000, 100_000
    a = sweep_time(client, small, small // 100)
    client.flushall()
    b = sweep_time(client, large, small // 100)
    client.flushall()
    c = sweep_time(client, large, large // 100)
    client.flushall()
    print(
        f"sweep  {small:>7,} stored,   {small // 100:>5,} stale: {a * 1000:8.1f} ms "
        f"({a * 1e6 / (small // 100):6.1f} us per stale job)"
    )
    print(
        f"sweep  {large:>7,} stored,   {small // 100:>5,} stale: {b * 1000:8.1f} ms "
        f"({b * 1e6 / (small // 100):6.1f} us per stale job)"
    )
    print(
        f"sweep  {large:>7,} stored,   {large // 100:>5,} stale: {c * 1000:8.1f} ms "
        f"({c * 1e6 / (large // 100):6.1f} us per stale job)"
    )
    print(f"sweep ratio 100k/10k, same 100 stale jobs:   {b / a:.2f} (target ~ 1)")
    print(
        f"sweep ratio 100k/10k per stale job, 1% each: "
        f"{(c / (large // 100)) / (a / (small // 100)):.2f} (target ~ 1)"
    )


# -- main -------------------------------------------------------------------------------------


def bench_writes(appendfsync: str, writes: int, jobs: int) -> None:
    """Write benchmarks on a fresh server with the given AOF fsync policy."""
    with RedisServer(extra_config={"appendfsync": appendfsync}) as server:
        client = server.client()
        try:
            version = client.info("server")["redis_version"]
            print(f"redis-server {version}, AOF appendfsync {appendfsync}:")
            store = JobStore(client, PRD_WORKFLOW, Settings(key_prefix="bench"))
            progress_pair(store, 300)  # warm up: scripts loaded, connection open
            report_writes("progress", *progress_pair(store, writes))
            report_writes("transition", *transition_pair(store, jobs))
        finally:
            client.close()


def bench_sweeps() -> None:
    """Sweep benchmarks on a fresh server (AOF as in the test harness)."""
    with RedisServer() as server:
        client = server.client()
        try:
            print("redis-server, AOF appendfsync always:")
            report_sweeps(client)
        finally:
            client.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Start redis-servers, run the benchmarks, print labelled results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=5000, help="progress writes to time")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs walked for transitions")
    parser.add_argument(
        "--appendfsync",
        nargs="+",
        default=["always", "everysec"],
        choices=["always", "everysec"],
        help="AOF fsync policies to time writes under (the harness uses always)",
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep benchmark")
    args = parser.parse_args(argv)
    for policy in args.appendfsync:
        bench_writes(policy, args.writes, args.jobs)
    if not args.no_sweep:
        bench_sweeps()


if __name__ == "__main__":
    main()
