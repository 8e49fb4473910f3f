"""Direct calls on an asyncio pool: replies, error replies, and connections lost or cut off."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aredis

from pipeline.async_client import async_twin
from pipeline.direct_calls import DirectCalls, pack
from pipeline.procs.redis_server import RedisServer
from pipeline.store import JobStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Function: run async tests on asyncio only."""
    return "asyncio"


def test_pack_is_the_redis_protocol() -> None:
    assert pack(b"GET", "k\u00e9", 7) == b"*3\r\n$3\r\nGET\r\n$3\r\nk\xc3\xa9\r\n$1\r\n7\r\n"


async def _with_calls(client: redis.Redis) -> tuple[aredis.Redis, DirectCalls]:
    twin = async_twin(client)
    return twin, DirectCalls(twin.connection_pool, 4)


# Direct calls serve one node's pool; a cluster client keeps redis-py's own path.
@pytest.mark.jobstate_redis("fake")
async def test_replies_and_error_replies_keep_the_connection(redis_client: redis.Redis) -> None:
    twin, calls = await _with_calls(redis_client)
    try:
        assert await calls.call("SET", "direct-k", "v") in (b"OK", "OK", True)
        assert await calls.call("GET", "direct-k") == b"v"
        with pytest.raises(redis.ResponseError):
            await calls.call("INCR", "direct-k")
        assert await calls.call("GET", "direct-k") == b"v"
        assert len(calls._idle) == 1  # one connection served every call
    finally:
        await calls.aclose()
        await twin.aclose()


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
async def test_a_connection_killed_while_idle_is_replaced(redis_client: redis.Redis) -> None:
    twin, calls = await _with_calls(redis_client)
    try:
        await calls.call("SET", "direct-k", "v")
        own = await calls.call("CLIENT", "ID")  # the one idle connection's
        assert redis_client.client_kill_filter(_id=own) == 1
        assert await calls.call("GET", "direct-k") == b"v"
    finally:
        await calls.aclose()
        await twin.aclose()


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
async def test_a_call_cut_off_by_its_deadline_drops_its_connection(
    redis_client: redis.Redis,
) -> None:
    twin, calls = await _with_calls(redis_client)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await calls.call("BLPOP", "direct-nothing", 5)
        assert calls._idle == []  # its reply may still come: never reused
        assert await calls.call("PING") in (b"PONG", True)
    finally:
        await calls.aclose()
        await twin.aclose()


@pytest.mark.integration
@pytest.mark.jobstate_redis("server")
def test_a_store_write_after_a_redis_restart_reconnects_and_writes_once(
    state_store: JobStore, redis_server: RedisServer
) -> None:
    job_id = state_store.create("https://media.example/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)  # its connection is now idle
    redis_server.restart()
    state_store.progress(job_id, {"percent": 5}, attempt=1)
    assert [e["kind"] for e in state_store.history(job_id)][-1] == "progress"
    assert state_store.get_state(job_id)["version"] == 3


async def test_a_server_that_never_answers_is_a_redis_timeout_within_the_socket_timeout() -> None:
    # Slip: the write and the read left without the connection's own bound (they wait
    # as long as the caller does, forever for a caller with no deadline of its own).
    done = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers the client's own hello (CLIENT SETINFO on connect), never a PING.
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while (data := await reader.read(1 << 16)) and b"PING" not in data:
                writer.write(b"+OK\r\n" * data.count(b"*"))
                await writer.drain()
            await done.wait()
        finally:
            writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = aredis.ConnectionPool(host="127.0.0.1", port=port, socket_timeout=0.2, protocol=2)
    calls = DirectCalls(pool, 1)
    try:
        with pytest.raises(redis.TimeoutError):
            async with asyncio.timeout(5):  # a builtin TimeoutError here: no bound of its own
                await calls.call("PING")
        assert calls._idle == []  # a connection with a reply still owed is never reused
    finally:
        done.set()
        await asyncio.gather(*handlers)
        await calls.aclose()
        await pool.aclose()
        server.close()
        await server.wait_closed()


@pytest.mark.jobstate_redis("fake")
def test_stores_made_on_one_client_share_its_connections(state_store: JobStore) -> None:
    # Slip: direct calls made per store; each store's connections count against the
    # client's pool (100 for fakeredis) and a long-lived client ran out of them.
    client = state_store.client
    limit = client.connection_pool.max_connections
    for n in range(limit + 1):  # one past the pool's limit
        store = JobStore(client, state_store.workflow, state_store.settings)
        store.create("https://media.example/a.mp3", job_id=f"shared-{n}")
    assert client.connection_pool._created_connections <= 2
