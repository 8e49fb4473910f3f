"""Live terminal display of a job until it reaches a terminal status."""

from __future__ import annotations

from time import monotonic, sleep
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from pipeline.errors import StoreUnavailable
from pipeline.history import HistoryKind
from pipeline.store import JobStore

__all__ = ["render_result", "watch_job"]


def _view(record: dict[str, Any] | None, note: str = "") -> Group:
    if record is None:
        return Group(Text("job not found", style="red"))
    line = Text()
    line.append(f"{record['status']:<20}", style="bold")
    line.append(f" {record['message']}")
    line.append(f"  (attempt {record['attempt']}, v{record['version']})", style="dim")
    parts: list[Any] = [line]
    progress = record.get("progress") or {}
    if isinstance(progress, dict) and progress.get("percent") is not None:
        parts.append(ProgressBar(total=100, completed=float(progress["percent"]), width=40))
    if record.get("error"):
        parts.append(Text(f"error: {record['error']}", style="red"))
    if note:
        parts.append(Text(note, style="yellow"))
    return Group(*parts)


def _new_steps(store: JobStore, job_id: str, after: int) -> list[dict[str, Any]]:
    entries = store.history(job_id)
    return [e for e in entries if e["version"] > after and e["kind"] != HistoryKind.PROGRESS]


UNSTARTED = 10.0
"""Seconds a watched job may stay in its initial status before the view says no worker
has started it (a worker reading another queue, or none running)."""


def watch_job(
    store: JobStore,
    job_id: str,
    console: Console | None = None,
    timeout: float = 600.0,
    since: int = 0,
) -> dict[str, Any] | None:
    """Show the job live (status, message, progress, error); return its final record.

    Every status change is printed from the job's history, so none is missed however
    quickly the stages run.
    """
    console = console or Console()
    terminal = store.workflow.terminal
    started = monotonic()
    deadline = started + timeout
    record: dict[str, Any] | None = None
    printed = since
    with Live(_view(None), console=console, refresh_per_second=8, transient=True) as live:
        while True:  # the job is read at least once, however short the timeout
            note = ""
            try:
                record = store.find_state(job_id)
                for step in _new_steps(store, job_id, printed):
                    printed = step["version"]
                    console.print(f"  -> {step['status']}: {step['message']}", markup=False)
            except StoreUnavailable:
                note = "reconnecting to Redis..."
            waited = monotonic() - started
            unstarted = record and record["status"] == store.workflow.initial
            if unstarted and not note and waited > UNSTARTED:
                note = f"no worker has started it in {waited:.0f} s: is one running for this app?"
            live.update(_view(record, note))
            if record is None or (record["status"] in terminal and not note):
                break
            if monotonic() >= deadline:
                break
            sleep(0.2)  # refresh interval of the live display
    return record


def render_result(console: Console, record: dict[str, Any]) -> None:
    """Print transcript, quotes and summary of a completed job (as plain text)."""
    result = record.get("result") or {}
    console.print(Text("Transcript:", style="bold"))
    console.print(Text(str(result.get("transcript", ""))))
    console.print(Text("Quotes:", style="bold"))
    for quote in result.get("quotes", []):
        console.print(Text(f"  \u201c{quote}\u201d"))
    console.print(Text("Summary:", style="bold"))
    console.print(Text(str(result.get("summary", ""))))
