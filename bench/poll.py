"""The poll endpoint under page-like load: latency at 200 and 1,000 pollers, and its CPU cost.

Starts its own redis-server (AOF ``everysec``) and the web app under uvicorn in a
subprocess. The load comes from this process, through :mod:`harness.testing.pollers` (asyncio
streams, a fraction of an HTTP library's cost per request); on a machine with two cores or
more the server is pinned to one core and this process and Redis to the others, so the
load generator does not take the server's core. Then prints:

* throughput of ``GET /api/jobs/{id}`` (a poll answered with the record) and of
  ``GET /api/ping`` (constant JSON, no Redis), in alternating rounds under the same load,
  and their ratio;
* p50/p99/max latency with 200 and then 1,000 pollers at 1 Hz, each like the page
  (``If-None-Match`` with the tag it holds, next poll a second after the last began) while
  a writer changes every watched job about every 5 s; the share of 304s; a line
  ``1000 pollers ... p99 N ms`` and the ratio p99(1000)/p99(200);
* the server's CPU time per changed poll (the job moved since the poller's tag: 200 with
  the record) and per unchanged poll (304), in alternating rounds, and their ratio;
* the page's other requests off the poll path (history, list), side by side with the poll.

Every request goes to 127.0.0.1 and every loop is bounded in time. Nothing is asserted.
Run: ``python bench/poll.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: keep bench/ from shadowing `pipeline`
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
import redis

from harness.testing.pollers import Connection, Polls, run_polls
from pipeline.procs.redis_server import RedisServer, free_port
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until

PREFIX = "jobstate-bench-poll"
CHANGE_EVERY = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Rate:
    """Requests answered as expected in ``seconds``, the others, and the server's CPU."""

    ok: int
    errors: int
    seconds: float
    cpu: float = 0.0

    @property
    def per_second(self) -> float:
        """Answered requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU microseconds per answered request."""
        return self.cpu / self.ok * 1e6 if self.ok else 0.0

    def __add__(self, other: Rate) -> Rate:
        return Rate(
            self.ok + other.ok,
            self.errors + other.errors,
            self.seconds + other.seconds,
            self.cpu + other.cpu,
        )


# -- the server side (a subprocess running this file with --serve) ---------------------------


def serve(redis_url: str, port: int, workers: int) -> None:
    """Serve the app on 127.0.0.1:``port`` against ``redis_url`` until terminated, from
    ``workers`` processes (``jobstate serve --workers``) when more than one."""
    from ui.server import serve as serve_app
    from ui.server import serve_workers

    if workers > 1:  # each worker builds its service from the environment
        os.environ.update(JOBSTATE_REDIS_URL=redis_url, JOBSTATE_KEY_PREFIX=PREFIX)
        serve_workers(workers, "127.0.0.1", port, log_level="warning")
        return
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=1)
    settings = Settings.from_env({}, redis_url=redis_url, key_prefix=PREFIX)
    service = JobService(JobStore(client, settings=settings), lambda ctx: None)
    serve_app(service, "127.0.0.1", port, log_level="warning")


def start_server(
    redis_url: str, cores: set[int] | None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """Launch the app in a subprocess (on ``cores`` if given); return it and its base URL
    once it answers."""
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", redis_url, str(port)]
    argv.append(str(workers))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    if cores:
        os.sched_setaffinity(proc.pid, cores)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process and its live children have used so far
    (Linux ``/proc``; a server's worker processes are its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return own + sum(cpu_seconds(int(child)) for child in children)


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """(the server's cores, the others) when there are two or more, else (None, None)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


# -- closed-loop load ---------------------------------------------------------------------------


async def hammer(
    base: str, path: str, workers: int, seconds: float, want: int, tag: str = ""
) -> tuple[int, int]:
    """``workers`` connections requesting ``path`` back to back for ``seconds``; the
    number of answers with status ``want``, and of the others."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    ok = errors = 0
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal ok, errors
        conn = Connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                try:
                    answer = await conn.get(path, tag)
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    conn.close()
                    continue
                if answer.status == want:
                    ok += 1
                else:
                    errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(loop() for _ in range(workers)))
    return ok, errors


def measured(
    pid: int, base: str, path: str, workers: int, seconds: float, want: int, tag: str = ""
) -> Rate:
    """One :func:`hammer` round with the server's CPU time over it."""
    cpu, began = cpu_seconds(pid), time.monotonic()
    ok, errors = asyncio.run(hammer(base, path, workers, seconds, want, tag))
    return Rate(ok, errors, time.monotonic() - began, cpu_seconds(pid) - cpu)


def rotating(
    pid: int, base: str, kinds: list[tuple[str, int, str]], args: argparse.Namespace, rounds: int
) -> list[Rate]:
    """Rounds over ``kinds`` ((path, expected status, tag)) in rotating order; sums."""
    asyncio.run(hammer(base, kinds[0][0], args.workers, 1.0, kinds[0][1], kinds[0][2]))  # warm
    totals = [Rate(0, 0, 0.0) for _ in kinds]
    for index in range(rounds):
        shift = index % len(kinds)
        for k in [*range(shift, len(kinds)), *range(shift)]:
            path, want, tag = kinds[k]
            totals[k] = totals[k] + measured(pid, base, path, args.workers, args.seconds, want, tag)
    return totals


# -- the jobs and the writer that keeps them moving -------------------------------------------


def make_jobs(redis_url: str, count: int) -> list[str]:
    """``count`` jobs in DOWNLOADING with progress: what a page polls most of the time."""
    client = redis.Redis.from_url(redis_url)
    try:
        store = JobStore(client, settings=Settings.from_env({}, key_prefix=PREFIX))
        ids = []
        for index in range(count):
            job_id = store.create(f"https://media.example/bench-{index}.mp3").job_id
            store.set_state(job_id, "DOWNLOADING", attempt=1)
            store.progress(job_id, {"bytes": 1_048_576, "total": 4_194_304, "percent": 25.0})
            ids.append(job_id)
        return ids
    finally:
        client.close()


@contextmanager
def moving(redis_url: str, job_ids: list[str], every: float) -> Iterator[None]:
    """A thread that records progress on each job about every ``every`` seconds (spread
    evenly), so pollers see changes as they would while workers run."""
    stop = threading.Event()

    def write() -> None:
        client = redis.Redis.from_url(redis_url)
        store = JobStore(client, settings=Settings.from_env({}, key_prefix=PREFIX))
        gap, step = every / max(len(job_ids), 1), 0
        try:
            while not stop.wait(gap):
                job_id = job_ids[step % len(job_ids)]
                store.progress(job_id, {"percent": step % 100}, attempt=1, status="DOWNLOADING")
                step += 1
        finally:
            client.close()

    thread = threading.Thread(target=write, name="bench-writer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


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


# -- the reports --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def report_throughput(args: argparse.Namespace, pid: int, base: str, job_id: str) -> None:
    """Poll and ping throughput side by side, and their ratio."""
    poll = f"/api/jobs/{job_id}"
    polled, pinged = rotating(
        pid, base, [(poll, 200, ""), ("/api/ping", 200, "")], args, args.rounds
    )
    print(f"throughput  poll  GET {poll}: {polled.per_second:8.0f} req/s ({polled.errors} errors)")
    print(
        f"throughput  ping  GET /api/ping: {pinged.per_second:8.0f} req/s ({pinged.errors} errors)"
    )
    ratio = polled.per_second / pinged.per_second if pinged.per_second else 0.0
    print(
        f"throughput ratio poll/ping: {ratio:.2f} ({args.workers} connections, {args.rounds} "
        f"alternating rounds of {args.seconds:g} s each)"
    )


def latency_run(args: argparse.Namespace, redis_url: str, base: str, pollers: int) -> float:
    """``pollers`` page-like pollers over pollers/5 moving jobs; prints the line, returns p99."""
    job_ids = make_jobs(redis_url, max(1, pollers // 5))
    with moving(redis_url, job_ids, CHANGE_EVERY):
        polls: Polls = run_polls(base, job_ids, pollers, args.poll_seconds)
    lat = polls.latencies_ms or [0.0]
    p99 = percentile(lat, 0.99)
    print(
        f"{pollers} pollers at 1 Hz for {args.poll_seconds:g} s: "
        f"p50 {percentile(lat, 0.5):.1f} ms, p99 {p99:.1f} ms, max {max(lat):.1f} ms, "
        f"mean {statistics.fmean(lat):.1f} ms "
        f"({len(polls.latencies_ms)} answered, {polls.unchanged_share:.0%} 304, "
        f"{len(polls.failures)} errors; {len(job_ids)} jobs, each changed every "
        f"{CHANGE_EVERY:g} s)"
    )
    if polls.failures:  # what the errors were: "HTTP 503 ...", "TimeoutError", ...
        kinds = Counter(f.split(": ", 1)[1][:40] for f in polls.failures)
        print("  errors: " + "; ".join(f"{n} x {kind}" for kind, n in kinds.most_common(3)))
    return p99


def report_cpu(args: argparse.Namespace, pid: int, base: str, redis_url: str) -> None:
    """Server CPU per changed and per unchanged poll, side by side."""
    [job_id] = make_jobs(redis_url, 1)
    poll = f"/api/jobs/{job_id}"
    tag = httpx.get(base + poll, timeout=5).headers["etag"]
    old = 'W/"0.0.0"'  # a version the job has moved past: answered with the record
    changed, unchanged = rotating(
        pid, base, [(poll, 200, old), (poll, 304, tag)], args, args.rounds
    )
    ratio = unchanged.cpu_us / changed.cpu_us if changed.cpu_us else 0.0
    print(
        f"server CPU per poll: changed (200) {changed.cpu_us:.0f} us, unchanged (304) "
        f"{unchanged.cpu_us:.0f} us; unchanged/changed {ratio:.2f} "
        f"({changed.ok} and {unchanged.ok} polls, {changed.errors + unchanged.errors} errors)"
    )


def report_page_requests(
    args: argparse.Namespace, pid: int, base: str, job_id: str, story: tuple[str, int]
) -> None:
    """The history and list requests next to the poll, as ratios."""
    story_id, entries = story
    poll, history, listing = (
        f"/api/jobs/{job_id}",
        f"/api/jobs/{story_id}/history",
        "/api/jobs?limit=20",
    )
    kinds = [(poll, 200, ""), (history, 200, ""), (listing, 200, "")]
    rates = rotating(pid, base, kinds, args, args.extra_rounds)
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


def report(args: argparse.Namespace, server: RedisServer, story: tuple[str, int]) -> None:
    """Start the app, run the measurements and print the labelled results."""
    # Pinned only when one process serves: then it has a core of its own.
    pin = args.pin and args.server_workers == 1
    mine, others = split_cores() if pin else (None, None)
    proc, base = start_server(server.url, mine, args.server_workers)
    if others:
        os.sched_setaffinity(0, others)
        if server.pid is not None:
            os.sched_setaffinity(server.pid, others)
    try:
        load = os.getloadavg()[0]
        where = (
            f"server on core {sorted(mine)}, load and Redis on {sorted(others)}"
            if mine
            else "unpinned"
        )
        print(
            f"app: {base} (uvicorn, {args.server_workers} process(es), {where}); "
            f"machine load (1 min) {load:.1f}"
        )
        [job_id] = make_jobs(server.url, 1)
        report_throughput(args, proc.pid, base, job_id)
        p99s = {n: latency_run(args, server.url, base, n) for n in args.pollers}
        if 200 in p99s and 1000 in p99s:
            print(f"p99 ratio 1000/200 pollers: {p99s[1000] / p99s[200]:.2f} (goal <= 1.5)")
        report_cpu(args, proc.pid, base, server.url)
        report_page_requests(args, proc.pid, base, job_id, story)
        print(f"machine load (1 min) at the end: {os.getloadavg()[0]:.1f}")
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> None:
    """Parse options, start Redis and the app, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=32, help="connections (closed loops)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per kind")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    parser.add_argument(
        "--pollers", type=int, nargs="+", default=[200, 1000], help="poller counts to run"
    )
    parser.add_argument("--poll-seconds", type=float, default=15.0, help="each latency run")
    parser.add_argument(
        "--extra-rounds", type=int, default=3, help="rounds for the history and list requests"
    )
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="leave the processes unpinned"
    )
    parser.add_argument(
        "--server-workers", type=int, default=1, help="server processes (serve --workers)"
    )
    parser.add_argument(
        "--serve", nargs=3, metavar=("REDIS_URL", "PORT", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    with RedisServer(extra_config={"appendfsync": "everysec"}) as server:
        report(args, server, make_story(server.url))


if __name__ == "__main__":
    main()
