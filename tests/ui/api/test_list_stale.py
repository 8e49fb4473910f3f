"""The job list flags running jobs that went quiet, as one job's own record does."""

from __future__ import annotations

import httpx
import pytest

from harness.testing.redis.backend import RedisBackend
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until

pytestmark = pytest.mark.anyio

URL = "https://media.example/talk.mp3"


@pytest.fixture
def jobstate_settings(redis_backend: RedisBackend) -> Settings:
    """Function: the test's settings with a 3 s stale threshold (heartbeats every 1 s)."""
    return redis_backend.settings.with_(stale_after_seconds=3, heartbeat_seconds=1.0)


async def _listed(client: httpx.AsyncClient) -> dict[str, bool]:
    response = await client.get("/api/jobs")
    assert response.status_code == 200, response.text
    return {job["job_id"]: job["stale"] for job in response.json()}


async def test_list_flags_running_jobs_that_went_quiet(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    quiet = state_store.create(URL).job_id
    state_store.set_state(quiet, "DOWNLOADING", attempt=1)
    failed = state_store.create(URL).job_id
    state_store.fail(failed, "no such host", attempt=1)
    assert await _listed(client) == {quiet: False, failed: False}

    # Staleness is judged on Redis' clock: wait until the store itself says so.
    wait_until(lambda: state_store.get_live_state(quiet)["stale"], 10, what="quiet job stale")
    assert await _listed(client) == {quiet: True, failed: False}
    one = (await client.get(f"/api/jobs/{quiet}")).json()
    assert one["stale"] is True
    # A finished job is as quiet, for as long, and never stale: not in the list, not in
    # its own record (the page's poll), not in the store's live read.
    ended = (await client.get(f"/api/jobs/{failed}")).json()
    assert (ended["status"], ended["stale"]) == ("ERROR", False)
    assert state_store.get_live_state(failed)["stale"] is False

    state_store.heartbeat(quiet, attempt=1, status="DOWNLOADING")
    assert await _listed(client) == {quiet: False, failed: False}


async def test_list_of_finished_jobs_needs_no_clock(
    client: httpx.AsyncClient, state_store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = state_store.create(URL).job_id
    state_store.fail(failed, "no such host", attempt=1)

    def no_clock() -> int:
        raise AssertionError("Redis was asked for the time with no running job listed")

    monkeypatch.setattr(state_store, "now_ms", no_clock)
    assert await _listed(client) == {failed: False}
