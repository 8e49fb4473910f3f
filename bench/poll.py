"""The poll endpoint vs a constant-JSON endpoint of the same app and server.

Starts its own redis-server and the web app under uvicorn in a subprocess, then prints:

* throughput of ``GET /api/jobs/{id}`` (the page's poll: two Redis round trips) and of
  ``GET /api/ping`` (constant JSON, no Redis), measured in alternating rounds under the
  same client load, and their ratio (target >= 0.7);
* p50/p99 latency of the poll with 200 concurrent pollers, each polling like the page does
  (next request one second after the previous answer);
* the page's other requests, off the 1 s poll path, side by side with the poll: the job's
  history (fetched only when the job's version changes) and the recent-jobs list (one
  request every 3 s per open page).

Every request goes to 127.0.0.1 and every loop is bounded in time. Nothing is asserted.
Run: ``python bench/poll.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: keep bench/ from shadowing `pipeline`
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
import redis

from pipeline.procs.redis_server import RedisServer, free_port
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until

PREFIX = "jobstate-bench-poll"


@dataclass(frozen=True)
class Rate:
    """Requests answered with 200 in ``seconds``, and how many were not."""

    ok: int
    errors: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Answered requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0


# -- the server side (a subprocess running this file with --serve) ---------------------------


def serve(redis_url: str, port: int) -> None:
    """Serve the app on 127.0.0.1:``port`` against ``redis_url`` until terminated."""
    from ui.server import serve as serve_app

    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=1)
    settings = Settings.from_env({}, redis_url=redis_url, key_prefix=PREFIX)
    service = JobService(JobStore(client, settings=settings), lambda ctx: None)
    serve_app(service, "127.0.0.1", port, log_level="warning")


def start_server(redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Launch the app in a subprocess; return it and its base URL once it answers."""
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", redis_url, str(port)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}")
        try:
            return httpx.get(base + "/api/ping", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, 30, interval=0.1, what="the app answering /api/ping")
    return proc, base


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the app (SIGTERM, then SIGKILL after 10 s)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the client side --------------------------------------------------------------------------


async def hammer(client: httpx.AsyncClient, path: str, workers: int, seconds: float) -> Rate:
    """``workers`` closed loops requesting ``path`` back to back for ``seconds``."""
    ok = errors = 0
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal ok, errors
        while time.monotonic() < deadline:
            try:
                response = await client.get(path)
            except httpx.HTTPError:
                errors += 1
                continue
            if response.status_code == 200:
                ok += 1
            else:
                errors += 1

    began = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(workers)))
    return Rate(ok, errors, time.monotonic() - began)


async def throughput(
    base: str, poll: str, workers: int, rounds: int, seconds: float
) -> tuple[Rate, Rate]:
    """Alternate poll and ping rounds (ABBA order) under the same load; sum each side."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    totals: dict[str, list[Rate]] = {poll: [], "/api/ping": []}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        await hammer(client, "/api/ping", workers, 1.0)  # warm connections and code paths
        for index in range(rounds):
            order = [poll, "/api/ping"] if index % 2 == 0 else ["/api/ping", poll]
            for path in order:
                totals[path].append(await hammer(client, path, workers, seconds))

    def total(rates: list[Rate]) -> Rate:
        return Rate(
            sum(r.ok for r in rates), sum(r.errors for r in rates), sum(r.seconds for r in rates)
        )

    return total(totals[poll]), total(totals["/api/ping"])


async def pollers(base: str, poll: str, count: int, seconds: float) -> tuple[list[float], int]:
    """``count`` pollers, each like the page: request, answer, wait one second, again."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal errors
        await asyncio.sleep(random.random())  # spread the pollers over the first second
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                response = await client.get(poll)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        await asyncio.gather(*(one(client) for _ in range(count)))
    return latencies, errors


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


# -- the run ----------------------------------------------------------------------------------


def make_job(redis_url: str) -> str:
    """One job in DOWNLOADING with progress: what a page polls most of the time."""
    client = redis.Redis.from_url(redis_url)
    try:
        store = JobStore(client, settings=Settings.from_env({}, key_prefix=PREFIX))
        job_id = store.create("https://media.example/bench.mp3", space_id="bench").job_id
        store.set_state(
            job_id,
            "DOWNLOADING",
            attempt=1,
            progress={"bytes": 1_048_576, "total": 4_194_304, "percent": 25.0},
        )
        return job_id
    finally:
        client.close()


def make_story(redis_url: str) -> tuple[str, int]:
    """A job with a whole story (redelivery, failure, retry, progress, completion) and 18
    more jobs, so the list holds 20, some running. Returns the story's id and length."""
    client = redis.Redis.from_url(redis_url)
    try:
        store = JobStore(client, settings=Settings.from_env({}, key_prefix=PREFIX))
        job_id = store.create("https://media.example/story.mp3").job_id
        store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="task-dl-1")
        store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="task-dl-1", max_runs=3)
        store.set_state(job_id, "TRANSCRIBING", attempt=1, task_id="task-tr-1")
        store.fail(job_id, "decoder gave up", attempt=1, stage="TRANSCRIBING")
        store.retry(job_id)
        for status in ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"):
            store.set_state(job_id, status, attempt=2, task_id=f"task-{status.lower()}-2")
            store.progress(job_id, {"percent": 50}, attempt=2, status=status)
        store.set_state(job_id, "COMPLETE", attempt=2, result={"summary": "done"})
        for index in range(18):
            other = store.create(f"https://media.example/other-{index}.mp3").job_id
            store.set_state(other, "DOWNLOADING", attempt=1)
            if index % 2:
                store.fail(other, "host refused the connection", attempt=1)
        return job_id, len(store.history(job_id))
    finally:
        client.close()


async def side_by_side(
    base: str, paths: list[str], workers: int, rounds: int, seconds: float
) -> list[Rate]:
    """Rounds over ``paths`` in a rotating order under the same load; sums per path."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    totals: dict[str, list[Rate]] = {path: [] for path in paths}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        await hammer(client, paths[0], workers, 1.0)
        for index in range(rounds):
            shift = index % len(paths)
            for path in paths[shift:] + paths[:shift]:
                totals[path].append(await hammer(client, path, workers, seconds))
    return [
        Rate(sum(r.ok for r in rs), sum(r.errors for r in rs), sum(r.seconds for r in rs))
        for rs in totals.values()
    ]


def report_page_requests(
    args: argparse.Namespace, base: str, poll: str, story: tuple[str, int]
) -> None:
    """The history and list requests next to the poll, as ratios."""
    job_id, entries = story
    history, listing = f"/api/jobs/{job_id}/history", "/api/jobs?limit=20"
    rates = asyncio.run(
        side_by_side(base, [poll, history, listing], args.workers, args.extra_rounds, args.seconds)
    )
    poll_rate = rates[0].per_second or 1.0
    print("page requests off the 1 s poll path (same load, rotating rounds):")
    labels = [
        (f"history GET {history} ({entries} entries)", "when the job's version changes"),
        (f"list    GET {listing} (20 jobs)", "every 3 s per open page"),
    ]
    for (label, when), rate in zip(labels, rates[1:], strict=True):
        print(
            f"  {label}: {rate.per_second:8.0f} req/s, {rate.per_second / poll_rate:.2f} x poll "
            f"({rate.errors} errors); requested {when}"
        )


def report(args: argparse.Namespace, base: str, job_id: str, story: tuple[str, int]) -> None:
    """Run the measurements and print the labelled results."""
    poll = f"/api/jobs/{job_id}"
    print(f"app: {base} (uvicorn subprocess), job: {job_id}")
    poll_rate, ping_rate = asyncio.run(
        throughput(base, poll, args.workers, args.rounds, args.seconds)
    )
    print(
        f"throughput  poll  GET {poll}: {poll_rate.per_second:8.0f} req/s "
        f"({poll_rate.ok} ok, {poll_rate.errors} errors)"
    )
    print(
        f"throughput  ping  GET /api/ping: {ping_rate.per_second:8.0f} req/s "
        f"({ping_rate.ok} ok, {ping_rate.errors} errors)"
    )
    ratio = poll_rate.per_second / ping_rate.per_second if ping_rate.per_second else 0.0
    print(
        f"throughput ratio poll/ping: {ratio:.2f} (target >= 0.70; "
        f"{args.workers} concurrent clients, {args.rounds} alternating rounds of "
        f"{args.seconds:g} s each)"
    )
    latencies, errors = asyncio.run(pollers(base, poll, args.pollers, args.poll_seconds))
    rate = len(latencies) / args.poll_seconds
    print(
        f"latency with {args.pollers} pollers at 1/s for {args.poll_seconds:g} s: "
        f"p50 {percentile(latencies, 0.50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms "
        f"({len(latencies)} answered, {rate:.0f} req/s, {errors} errors)"
    )
    report_page_requests(args, base, poll, story)


def main(argv: list[str] | None = None) -> None:
    """Parse options, start Redis and the app, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=32, help="concurrent clients (throughput)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per endpoint")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    parser.add_argument("--pollers", type=int, default=200, help="pollers for the latency run")
    parser.add_argument("--poll-seconds", type=float, default=15.0, help="latency run length")
    parser.add_argument(
        "--extra-rounds", type=int, default=3, help="rounds for the history and list requests"
    )
    parser.add_argument("--serve", nargs=2, metavar=("REDIS_URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with RedisServer(extra_config={"appendfsync": "everysec"}) as server:
        job_id = make_job(server.url)
        story = make_story(server.url)
        proc, base = start_server(server.url)
        try:
            report(args, base, job_id, story)
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()
