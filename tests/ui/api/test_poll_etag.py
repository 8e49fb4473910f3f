"""The poll's entity tag: an unchanged job answers 304 with no body after one small read."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import redis

from pipeline.procs.redis_server import RedisServer
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.store.conftest import wait_for_redis_time
from tests.ui.api.conftest import open_client
from ui.app import create_app
from ui.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio

URL = "https://alice:s3cret@media.example/talk.mp3"


async def _poll(client: httpx.AsyncClient, job_id: str, tag: str | None = None) -> httpx.Response:
    headers = {"If-None-Match": tag} if tag else {}
    return await client.get(f"/api/jobs/{job_id}", headers=headers)


async def test_an_unchanged_job_answers_304_with_no_body_and_the_headers(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    job_id = state_store.create(URL).job_id
    first = await _poll(client, job_id)
    tag = first.headers["etag"]
    assert first.status_code == 200
    assert re.fullmatch(r'W/"[0-9]+\.[0-9]+\.[01]"', tag), tag
    again = await _poll(client, job_id, tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert again.headers["cache-control"] == "no-store"
    assert "s3cret" not in first.text


async def test_every_change_a_reader_sees_changes_the_tag(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    store = state_store
    job_id = store.create(URL).job_id
    writes = [
        lambda: store.set_state(job_id, "DOWNLOADING", attempt=1),
        lambda: store.progress(job_id, {"percent": 10}, attempt=1),
        lambda: store.fail(job_id, "refused", attempt=1, stage="DOWNLOADING"),
        lambda: store.retry(job_id),
    ]
    tag = (await _poll(client, job_id)).headers["etag"]
    seen = [tag]
    for write in writes:
        write()
        answer = await _poll(client, job_id, tag)
        assert answer.status_code == 200
        assert answer.json()["version"] == store.get_state(job_id)["version"]
        tag = answer.headers["etag"]
        seen.append(tag)
    assert len(set(seen)) == len(seen)
    store.heartbeat(job_id, attempt=2)  # liveness only: the record a page shows is the same
    assert (await _poll(client, job_id, tag)).status_code == 304


async def test_a_job_turning_stale_changes_the_tag(
    state_store: JobStore, enqueued: list[object]
) -> None:
    store = JobStore(
        state_store.client,
        state_store.workflow,
        state_store.settings.with_(stale_after_seconds=1, heartbeat_seconds=0.5),
    )
    job_id = store.create(URL).job_id
    made = store.set_state(job_id, "DOWNLOADING", attempt=1)
    async with await open_client(create_app(JobService(store, enqueued.append))) as client:
        fresh = await _poll(client, job_id)
        assert fresh.json()["stale"] is False
        wait_for_redis_time(store.client, made.ms + 1100)
        later = await _poll(client, job_id, fresh.headers["etag"])
    assert later.status_code == 200
    assert later.json()["stale"] is True
    assert later.json()["version"] == fresh.json()["version"]
    assert later.headers["etag"] != fresh.headers["etag"]


async def test_a_job_made_again_under_its_id_is_never_taken_for_the_old_one(
    client: httpx.AsyncClient, state_store: JobStore
) -> None:
    made = state_store.create(URL, job_id="same-id")
    old = await _poll(client, "same-id")
    assert state_store.clear_state("same-id")
    assert (await _poll(client, "same-id", old.headers["etag"])).status_code == 404
    wait_for_redis_time(state_store.client, made.ms)
    state_store.create("https://media.example/other.mp3", job_id="same-id")
    new = await _poll(client, "same-id", old.headers["etag"])
    assert new.status_code == 200
    assert new.json()["metadata"]["url"] == "https://media.example/other.mp3"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("*", 304),
        ('W/"1.2.0", {tag}, "9"', 304),
        ("{bare}", 304),  # a strong form of the same tag matches too (weak comparison)
        ('W/"1.2.0"', 200),
        ("not a tag", 200),
        ("", 200),
    ],
)
async def test_if_none_match_forms(
    client: httpx.AsyncClient, state_store: JobStore, header: str, status: int
) -> None:
    job_id = state_store.create(URL).job_id
    tag = (await _poll(client, job_id)).headers["etag"]
    sent = header.format(tag=tag, bare=tag.removeprefix("W/"))
    answer = await client.get(f"/api/jobs/{job_id}", headers={"If-None-Match": sent})
    assert answer.status_code == status


async def test_unknown_and_malformed_ids_answer_as_without_a_tag(
    client: httpx.AsyncClient,
) -> None:
    assert (await _poll(client, "nobody", '"1.1.0"')).status_code == 404
    assert (await _poll(client, "*", "*")).status_code == 400


@pytest.fixture
def private_store(state_store: JobStore) -> Iterator[JobStore]:
    """Function: a store like the test's on a redis-server of its own, so the server's
    command counts are this test's alone (other tests share the session's server)."""
    with RedisServer() as server:
        settings = state_store.settings.with_(redis_url=server.url)
        client = redis.Redis.from_url(server.url)
        yield JobStore(client, state_store.workflow, settings)
        client.close()


@pytest.mark.integration
async def test_an_unchanged_poll_is_one_script_call_that_reads_no_record(
    private_store: JobStore,
) -> None:
    state_store, redis_client = private_store, private_store.client
    async with await open_client(create_app(JobService(state_store, lambda ctx: None))) as client:
        await _count_the_polls(client, state_store, redis_client)


async def _count_the_polls(
    client: httpx.AsyncClient, state_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = state_store.create(URL).job_id
    state_store.progress(job_id, {"percent": 5, "note": "x" * 2000}, attempt=1)
    tag = (await _poll(client, job_id)).headers["etag"]  # the script is loaded by now
    redis_client.config_resetstat()
    assert (await _poll(client, job_id, tag)).status_code == 304
    unchanged = redis_client.info("commandstats")
    state_store.progress(job_id, {"percent": 6}, attempt=1)
    redis_client.config_resetstat()
    assert (await _poll(client, job_id, tag)).status_code == 200
    changed = redis_client.info("commandstats")

    def calls(stats: dict[str, dict[str, int]]) -> dict[str, int]:
        named = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
        return {k: n for k, n in named.items() if not k.startswith(("config", "info"))}

    assert calls(unchanged) == {"evalsha": 1, "hmget": 1, "time": 1}
    assert calls(changed) == {"evalsha": 1, "hmget": 1, "time": 1, "hgetall": 1}
