"""The web API's asyncio twin of the store's client, on every kind of Redis we serve.

Whatever the backend (one server, a Redis Cluster, a primary behind Sentinel), making the
twin and reading through it warns about nothing (redis-py warns when a synchronous
option reaches an asyncio client), and closing it leaves no connection of it open on any
Redis it talked to: the primary's or a node's, and the sentinels' it asked for the
primary. A connection left open is closed by the garbage collector later, warning in
whatever test runs then.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import redis
from redis.sentinel import Sentinel

from harness.testing.redis.backend import RedisBackend
from pipeline.async_client import async_twin
from pipeline.connection import is_sentinel_url, parse_sentinel_url, redis_client
from pipeline.waiting import wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

KINDS = [
    pytest.param(kind, marks=pytest.mark.jobstate_redis(kind), id=kind)
    for kind in ("server", "cluster", "sentinel")
]
NAME = "twin-under-test"
"""The name the test's client (and so its twin) gives every connection it opens."""


@pytest.fixture
def anyio_backend() -> str:
    """Function: run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def named_client(redis_backend: RedisBackend) -> Iterator[redis.Redis]:
    """Function: a client of the test's Redis whose every connection, the sentinels'
    included, is named :data:`NAME`."""
    url = redis_backend.url or ""
    if is_sentinel_url(url):
        parsed = parse_sentinel_url(url)
        asked = Sentinel(list(parsed.sentinels), sentinel_kwargs={"client_name": NAME})
        client: redis.Redis = asked.master_for(parsed.master, client_name=NAME)
    else:
        client = redis_client(redis_backend.settings, client_name=NAME)
    yield client
    client.close()


def _peers(backend: RedisBackend) -> list[redis.Redis]:
    """A plain client of every process the twin may talk to: the data nodes and, for a
    primary behind Sentinel, each sentinel."""
    url = backend.url or ""
    if is_sentinel_url(url):
        hosts = list(parse_sentinel_url(url).sentinels)
        hosts.append(backend.client.connection_pool.get_master_address())  # type: ignore[attr-defined]
        return [redis.Redis(host=host, port=port) for host, port in hosts]
    nodes = getattr(backend.client, "get_nodes", None)
    if nodes is None:
        return [redis.Redis.from_url(url)]
    return [redis.Redis(host=n.host, port=n.port) for n in nodes()]


def _named(peers: list[redis.Redis]) -> list[tuple[int, str]]:
    """Each connection named :data:`NAME` that a peer lists: (peer, its address)."""
    return [
        (i, str(c["addr"]))
        for i, peer in enumerate(peers)
        for c in peer.client_list()
        if c.get("name") == NAME
    ]


@pytest.mark.parametrize("kind", KINDS)
async def test_the_twin_warns_of_nothing_and_closing_it_closes_every_connection_it_opened(
    kind: str, redis_backend: RedisBackend, named_client: redis.Redis
) -> None:
    peers = _peers(redis_backend)
    try:
        assert _named(peers) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            twin = async_twin(named_client)
            await twin.set("twin:k", "v")
            assert await twin.get("twin:k") == b"v"
        opened = {peer for peer, _ in _named(peers)}
        assert opened, "the twin's connections carry no name"
        if kind == "sentinel":  # the last peer is the primary, the others sentinels
            assert len(peers) - 1 in opened, "the twin reached no primary"
            assert min(opened) < len(peers) - 1, "the twin asked no sentinel"
        await twin.aclose()
        wait_until(
            lambda: _named(peers) == [],
            timeout=10,
            interval=0.05,
            what="every connection the twin opened closing",
        )
    finally:
        for peer in peers:
            peer.close()
