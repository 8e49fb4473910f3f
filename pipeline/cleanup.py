"""Cleanup utilities (PRD phase 1): stale jobs, old errors, old completed jobs.

Each sweep reads candidates from an index with a score range (cost follows the number of
jobs touched, not stored), then re-checks every candidate inside Redis with a script, so a
worker writing at the same moment always wins and a sweep is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline import validation as v
from pipeline.errors import JobNotFound, ValidationError
from pipeline.records import decode
from pipeline.store import JobStore, Sweep

__all__ = ["SweepReport", "archive_completed", "mark_stale", "purge_errors", "sweep_all"]

BATCH = 500


@dataclass
class SweepReport:
    """Job ids touched by one cleanup run, per kind."""

    stale: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)


def _candidates(store: JobStore, index: str, cutoff: int, kept: list[str]) -> Iterator[str]:
    """Index entries scored before ``cutoff``, a page at a time.

    Handled entries leave the index (or move out of the score range), so the next page
    starts after the ones still there: ``kept`` grows with every candidate left in place.
    """
    while True:
        page = store.client.zrangebyscore(index, "-inf", f"({cutoff}", start=len(kept), num=BATCH)
        yield from (decode(x) for x in page)
        if len(page) < BATCH:
            return


def _apply(store: JobStore, sweep: Sweep, index: str, older_than: float, arg: str) -> list[str]:
    older_than = v.check_seconds(older_than, "older_than")  # before anything is read
    # A candidate's index score (its last write, in whole ms) is below the cutoff exactly
    # when it is more than ``older_than`` s old now: for a whole number of ms a, a > x
    # holds just when a > int(x). The script re-checks it the same way, strictly.
    cutoff = store.now_ms() - int(older_than * 1000)
    done: list[str] = []
    kept: list[str] = []
    for job_id in _candidates(store, index, cutoff, kept):
        try:
            w = store.sweep(sweep, job_id, older_than, arg)
        except JobNotFound:
            store.client.zrem(index, job_id)
            continue
        (kept if w.skipped else done).append(job_id)
    return done


def mark_stale(store: JobStore, older_than: float | None = None) -> list[str]:
    """Move running jobs silent for more than ``older_than`` s (default
    ``stale_after_seconds``) to the error status; their ids.

    Silent: no change, progress or heartbeat. By Redis' clock, to the millisecond and
    strictly, as the web page's stale flag judges it: a job whose last sign of life is
    exactly ``older_than`` s old is left running; one a millisecond older is moved.
    """
    secs = store.settings.stale_after_seconds if older_than is None else older_than
    secs = v.check_seconds(secs, "older_than")  # before it is written into the error text
    message = f"stale: no heartbeat or progress for {secs:g}s (worker lost?)"
    return _apply(store, Sweep.MARK_STALE, store.keys.running, secs, message)


def purge_errors(store: JobStore, older_than: float) -> list[str]:
    """Delete jobs that have sat in the error status for more than ``older_than`` s
    (strictly, by Redis' clock, as :func:`mark_stale`)."""
    return _apply(store, Sweep.PURGE, store.keys.errored, older_than, store.workflow.error)


def archive_completed(store: JobStore, older_than: float, ttl: int | None = None) -> list[str]:
    """Move jobs completed more than ``older_than`` s ago (strictly, by Redis' clock, as
    :func:`mark_stale`) to the archive (still readable)."""
    keep = store.settings.archive_ttl_seconds if ttl is None else ttl
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValidationError("ttl", f"{keep!r} is not a whole number of seconds >= 0")
    return _apply(store, Sweep.ARCHIVE, store.keys.completed, older_than, str(keep))


def sweep_all(
    store: JobStore,
    *,
    stale_after: float | None = None,
    purge_after: float | None = None,
    archive_after: float | None = None,
) -> SweepReport:
    """Run every sweep that has a threshold; the stale sweep always runs."""
    report = SweepReport(stale=mark_stale(store, stale_after))
    if purge_after is not None:
        report.purged = purge_errors(store, purge_after)
    if archive_after is not None:
        report.archived = archive_completed(store, archive_after)
    return report
