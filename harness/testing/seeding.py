"""Deprecated: seeding is :class:`pipeline.batch.Batch`."""

from __future__ import annotations

from pipeline.batch import Batch, BatchFailed
from pipeline.deprecation import warn_once
from pipeline.store import JobStore

__all__ = ["BatchStore", "SeedingFailed"]

SeedingFailed = BatchFailed


def BatchStore(store: JobStore) -> Batch:
    """Deprecated: ``Batch(store)``."""
    warn_once("harness.seeding.BatchStore(store)", "Batch(store)")
    return Batch(store)
