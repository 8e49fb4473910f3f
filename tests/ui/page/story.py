"""Helpers that drive a job through its statuses and judge the story a page told."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from pipeline.store import JobStore

__all__ = ["RESULT", "advance", "is_forward_subpath"]

RESULT: dict[str, Any] = {
    "transcript": "hello and welcome to the show about careful state",
    "quotes": ["careful state wins", "errors must reach the page"],
    "summary": "A short talk on keeping job state honest.",
}


def is_forward_subpath(seen: Sequence[str], path: Sequence[str]) -> bool:
    """True when ``seen`` visits statuses of ``path`` in order, each once, skipping any."""
    positions = [path.index(s) if s in path else -1 for s in seen]
    return -1 not in positions and all(a < b for a, b in pairwise(positions))


def advance(store: JobStore, job_id: str, status: str, attempt: int = 1, **fields: Any) -> None:
    """Move the job to ``status`` as the worker of ``attempt`` would."""
    store.set_state(job_id, status, attempt=attempt, **fields)
