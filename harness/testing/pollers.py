"""Page-like pollers for load: many watchers of job pages, cheap enough to leave the server
its cores.

Each poller behaves as the page does: one keep-alive connection, one request at a time,
``GET /api/jobs/{id}`` once a second, sending the ``ETag`` of the state it holds as
``If-None-Match``, until the job is terminal (or the run's time is up). Pages are opened
at :data:`OPENED_PER_SECOND` a second, each at a random moment of the ramp, as people open
them, not all in one instant. Requests are written and read with asyncio streams (HTTP/1.1 with
``Content-Length`` bodies, what the app sends), a small fraction of an HTTP library's cost
per request. No pytest in here: ``python -m harness.testing.pollers URL IDS_FILE OUT_FILE`` runs
them in a process of their own and writes what they saw as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from harness.testing.browser.parked_loop import loop_set_aside

__all__ = ["Connection", "Polls", "main", "poll_jobs", "run_polls"]

POLL_SECONDS = 1.0
OPENED_PER_SECOND = 200
TERMINAL = frozenset({"COMPLETE", "ERROR"})


class HttpError(Exception):
    """An answer this client cannot read (not HTTP/1.1 with a length, or cut short)."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, the ``ETag`` header (or ``""``) and the body."""

    status: int
    etag: str
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection to ``host:port`` (opened on first use)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str, if_none_match: str = "") -> Answer:
        """``GET path``; a kept connection the server closed meanwhile is reopened once."""
        fresh = self._streams is None
        try:
            return await self._exchange(path, if_none_match)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            partial = isinstance(exc, asyncio.IncompleteReadError) and exc.partial
            if fresh or partial:
                raise
        return await self._exchange(path, if_none_match)

    async def _exchange(self, path: str, if_none_match: str) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        extra = f"If-None-Match: {if_none_match}\r\n" if if_none_match else ""
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Accept: application/json\r\n{extra}\r\n".encode("latin-1")
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status, headers = _head(head)
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers.get("etag", ""), body)

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise HttpError("chunked answers are not read by this client")
    return int(parts[1]), headers


@dataclass
class Polls:
    """What the pollers saw: each answer's latency, how many were 200 and 304, failures,
    and the last status each job showed."""

    latencies_ms: list[float] = field(default_factory=list)
    changed: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)

    @property
    def unchanged_share(self) -> float:
        """The share of answers that were 304 (0 when none came)."""
        answered = self.changed + self.unchanged
        return self.unchanged / answered if answered else 0.0


async def _poller(
    conn: Connection, job_id: str, polls: Polls, deadline: float, phase: float
) -> None:
    await asyncio.sleep(phase)
    path, tag = f"/api/jobs/{quote(job_id, safe='')}", ""
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            answer = await conn.get(path, tag)
        except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
            conn.close()
            polls.failures.append(f"{job_id}: {type(exc).__name__}")
        else:
            polls.latencies_ms.append((time.perf_counter() - began) * 1000)
            if answer.status == 304:
                polls.unchanged += 1
            elif answer.status == 200:
                polls.changed += 1
                tag = answer.etag
                status = json.loads(answer.body)["status"]
                polls.last[job_id] = status
                if status in TERMINAL:
                    return
            else:
                said = answer.body[:160].decode("utf-8", "replace")
                polls.failures.append(f"{job_id}: HTTP {answer.status} {said}")
        await asyncio.sleep(max(0.0, POLL_SECONDS - (time.perf_counter() - began)))


async def poll_jobs(
    url: str, job_ids: Sequence[str], pollers: int, seconds: float, seed: int = 0
) -> Polls:
    """``pollers`` page-like pollers over ``job_ids`` (poller ``i`` watches job ``i mod
    len``) for at most ``seconds``; each stops once its job is terminal. They start over
    ``pollers / OPENED_PER_SECOND`` seconds (at least one)."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    rng = random.Random(seed)  # noqa: S311 (phases of pollers, not secrets)
    ramp = max(POLL_SECONDS, pollers / OPENED_PER_SECOND)
    polls = Polls()
    deadline = time.monotonic() + seconds
    conns = [Connection(host, port) for _ in range(pollers)]
    try:
        await asyncio.gather(
            *(
                _poller(conn, job_ids[i % len(job_ids)], polls, deadline, rng.random() * ramp)
                for i, conn in enumerate(conns)
            )
        )
    finally:
        for conn in conns:
            conn.close()
    return polls


def main(argv: Sequence[str] | None = None) -> None:
    """Read the job ids (one a line), poll, write :class:`Polls` as JSON."""
    parser = argparse.ArgumentParser(prog="python -m harness.testing.pollers", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("ids_file", type=Path)
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--pollers", type=int, default=0, help="default: one per job")
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args(argv)
    job_ids = args.ids_file.read_text().split()
    count = args.pollers or len(job_ids)
    polls = run_polls(args.url, job_ids, count, args.timeout)
    args.out_file.write_text(json.dumps(asdict(polls)))


def run_polls(url: str, job_ids: Sequence[str], pollers: int, seconds: float) -> Polls:
    """:func:`poll_jobs` on uvloop when it is installed, with the garbage collector paused
    (and put back as it was): the pollers' own pauses would be measured as the server's
    latency. A run lasts minutes at most; what a request leaves behind is freed as its last
    reference goes, and the few cycles wait until the collector is back on, after the run.
    Callable from a browser test too: a loop Playwright parked in this thread is set aside
    for the run (:func:`~harness.testing.browser.parked_loop.loop_set_aside`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with loop_set_aside(), asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(poll_jobs(url, job_ids, pollers, seconds))
    finally:
        if enabled:
            gc.enable()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (a fraction of the CPU per request, so the
    pollers' own delays stay out of the latencies they measure), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


if __name__ == "__main__":
    main()
