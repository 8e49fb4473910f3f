"""Deprecated: seeding is :meth:`pipeline.store.JobStore.batch` (:mod:`pipeline.batch`)."""

from __future__ import annotations

from pipeline.batch import Batch, BatchFailed
from pipeline.deprecation import warn_once
from pipeline.store import JobStore

__all__ = ["BatchStore", "SeedingFailed"]

SeedingFailed = BatchFailed


def BatchStore(store: JobStore) -> Batch:
    """Deprecated: ``store.batch()``."""
    warn_once("harness.seeding.BatchStore(store)", "store.batch()")
    return store.batch()
