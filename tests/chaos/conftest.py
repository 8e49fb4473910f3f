"""Fixtures for the chaos scenarios: the chaos app, short heartbeats and a sweep helper."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.cleanup import mark_stale
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.chaos.apps import TARGET

STALE_SECONDS = 2.0
"""Silence after which the scenarios' sweeps call a running job stale."""


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the chaos app (small stages that say which worker ran them)."""
    return TARGET


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """Function: the plugin's settings with a fast heartbeat (a lost worker shows soon)."""
    return pipeline_settings.with_(heartbeat_seconds=0.25)


@pytest.fixture
def sweep_until(state_store: JobStore) -> Callable[..., list[str]]:
    """Function: ``sweep_until({job_id, ...}, timeout=30)`` runs the stale sweep (silence
    over :data:`STALE_SECONDS`) until it has moved every given job; returns their ids."""

    def sweep(job_ids: set[str], timeout: float = 30) -> list[str]:
        swept: list[str] = []

        def all_swept() -> bool:
            swept.extend(mark_stale(state_store, older_than=STALE_SECONDS))
            return job_ids <= set(swept)

        wait_until(all_swept, timeout=timeout, interval=0.2, what=f"stale sweep of {job_ids}")
        return swept

    return sweep
