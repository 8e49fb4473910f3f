"""``python -m tests.chaos.pollers URL IDS_FILE OUT_FILE``: page-like pollers in a process.

One asyncio httpx client polls each job id (one per line in ``IDS_FILE``) once a second,
as the page does, from a random phase in the first second, until the job is terminal or
``--timeout`` seconds pass. Writes ``{"latencies_ms": [...], "failures": [...],
"last": {job_id: status}}`` as JSON to ``OUT_FILE``. Run in its own process so the
client's work never shares an interpreter lock with the code it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

__all__ = ["Polls", "main", "poll_all"]

POLL_SECONDS = 1.0
TERMINAL = frozenset({"COMPLETE", "ERROR"})


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


async def poll_all(url: str, job_ids: list[str], timeout: float, seed: int = 0) -> Polls:
    """Poll every job from one client until each ends (or ``timeout`` seconds pass)."""
    polls = Polls()
    # Idle connections are dropped before the server's 5 s keep-alive ends, as browsers
    # do, so no request races the server closing its connection.
    limits = httpx.Limits(
        max_connections=len(job_ids), max_keepalive_connections=len(job_ids), keepalive_expiry=2
    )
    deadline = time.monotonic() + timeout
    phases = [random.Random(seed + i).random() * POLL_SECONDS for i in range(len(job_ids))]
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        await asyncio.gather(
            *(
                _poll(client, job_id, polls, deadline, phase)
                for job_id, phase in zip(job_ids, phases, strict=True)
            )
        )
    return polls


def main() -> None:
    """Read the ids, poll, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.pollers")
    parser.add_argument("url")
    parser.add_argument("ids_file", type=Path)
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    job_ids = args.ids_file.read_text().split()
    polls = asyncio.run(poll_all(args.url, job_ids, args.timeout))
    args.out_file.write_text(json.dumps(asdict(polls)))


if __name__ == "__main__":
    main()
