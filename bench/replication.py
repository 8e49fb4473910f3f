"""What ``WAIT`` costs: store writes with and without waiting for a replica, side by side.

One private primary and one replica. Each round makes one ``progress`` write through the
store and, interleaved on the same client, one such write followed by ``WAIT 1 1000``
(return once one replica has the write). Medians and their ratio are printed: the price
of knowing a write would survive a failover. Also shown: the same write on one server
and on a cluster of 3 primaries (where the cross-job indexes are a second round trip).
Every server fsyncs each write (``appendfsync always``), as the harness's servers do.

Run: ``python bench/replication.py`` (``--help`` for the round count). Printed, never
asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# ``python bench/replication.py`` puts bench/ first on sys.path, where bench/pipeline.py
# would shadow the ``pipeline`` package: import the project's packages, not the neighbours.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import redis

from harness.testing.redis.cluster import RedisClusterServers
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW

URL = "https://media.example.com/talks/keynote.mp3"
NO_SYNC_DELAY = {"repl-diskless-sync-delay": "0"}


def timed(fn: Callable[[], object]) -> float:
    """Microseconds one call took."""
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def running_job(store: JobStore) -> str:
    """A job in its first stage, ready for progress writes."""
    job_id = store.create(URL).job_id
    store.set_state(job_id, PRD_WORKFLOW.happy_path()[1])
    return job_id


def side_by_side(
    rounds: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """Median microseconds of ``first`` and ``second``, interleaved round by round."""
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(first))
        b.append(timed(second))
    return statistics.median(a), statistics.median(b)


def bench_wait(rounds: int) -> None:
    """Progress writes without and with ``WAIT 1 1000`` on a primary with one replica."""
    with RedisServer(extra_config=NO_SYNC_DELAY) as primary:
        follow = {"replicaof": f"{primary.host} {primary.port}"}
        with RedisServer(extra_config=follow) as replica, replica.client() as probe:
            wait_until(
                lambda: probe.info("replication").get("master_link_status") == "up",
                timeout=15,
                what="replica linked",
            )
            store = JobStore(primary.client(), PRD_WORKFLOW, Settings(key_prefix="bench"))
            job_id = running_job(store)

            def plain() -> None:
                store.progress(job_id, {"n": 1})

            def waited() -> None:
                store.progress(job_id, {"n": 1})
                if store.client.wait(1, 1000) != 1:
                    raise RuntimeError("the replica did not acknowledge within 1 s")

            alone, with_wait = side_by_side(rounds, plain, waited)
            store.client.close()
    print(f"write, acknowledged by the primary only  {alone:8.1f} us (median of {rounds})")
    print(f"write + WAIT 1 1000 (a replica has it)   {with_wait:8.1f} us")
    print(f"ratio WAIT / plain                       {with_wait / alone:8.2f}")


def bench_cluster(rounds: int) -> None:
    """Progress writes on one server against the same on a 3-primary cluster."""
    with RedisServer() as single, RedisClusterServers() as cluster:
        settings = Settings(key_prefix="bench")
        one = JobStore(redis.Redis.from_url(single.url), PRD_WORKFLOW, settings)
        many = JobStore(cluster.client(), PRD_WORKFLOW, settings.with_(cluster=True))
        one_job, many_job = running_job(one), running_job(many)
        alone, spread = side_by_side(
            rounds,
            lambda: one.progress(one_job, {"n": 1}),
            lambda: many.progress(many_job, {"n": 1}),
        )
        one.client.close()
        many.client.close()
    print(f"progress write, one server               {alone:8.1f} us (median of {rounds})")
    print(f"progress write, 3-primary cluster        {spread:8.1f} us")
    print(f"ratio cluster / one server               {spread / alone:8.2f}")


def main() -> None:
    """Run both comparisons and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="writes per side")
    rounds = parser.parse_args().rounds
    print("== durability: WAIT after each write ==")
    bench_wait(rounds)
    print("== topology: one server vs Redis Cluster ==")
    bench_cluster(rounds)


if __name__ == "__main__":
    main()
