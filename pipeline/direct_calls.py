"""Single Redis commands on an asyncio client's own connections, without its per-call layers.

redis-py's asyncio client spends more on each call (pool bookkeeping, retry wrapping,
health checks, encoding each argument) than the poll's read costs Redis. :class:`DirectCalls`
keeps idle connections of the client's pool in a list and writes each command in one
piece: one command at a time per connection, at most ``size`` connections at once. A
connection found dead on reuse (a Redis restart closed it) is replaced and the command
sent once more; a call cancelled mid-way drops its connection, whose reply state is then
unknown.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import redis
import redis.asyncio as aredis

__all__ = ["DirectCalls", "direct_calls", "pack"]

_LOST = (redis.ConnectionError, redis.TimeoutError, OSError)


def pack(*args: bytes | str | int) -> bytes:
    """One command in the Redis protocol (RESP2 array of bulk strings)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class DirectCalls:
    """Commands on connections made by ``pool`` (see the module docs); one event loop."""

    def __init__(self, pool: aredis.ConnectionPool, size: int) -> None:
        self._pool = pool
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)

    async def call(self, *args: bytes | str | int) -> Any:
        """Send one command and return its reply; a Redis error reply raises as redis-py's
        (``ResponseError``, ``NoScriptError``...)."""
        packed = pack(*args)
        async with self._slots:
            if self._idle:
                conn = self._idle.pop()
                try:
                    return await self._exchange(conn, packed)
                except _LOST:
                    pass  # closed while idle: a new connection gets the one retry
            fresh = self._pool.make_connection()  # type: ignore[no-untyped-call]
            return await self._exchange(fresh, packed)

    async def _exchange(self, conn: Any, packed: bytes) -> Any:
        try:
            if not conn.is_connected:
                await conn.connect()
            await conn.send_packed_command(packed, check_health=False)
            reply = await conn.read_response()
        except redis.ResponseError:
            self._idle.append(conn)  # an error reply: the connection is in step
            raise
        except BaseException:
            with anyio.CancelScope(shield=True):
                await conn.disconnect(nowait=True)
            raise
        self._idle.append(conn)
        return reply

    async def aclose(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()


def direct_calls(client: Any, size: int) -> DirectCalls | None:
    """:class:`DirectCalls` on ``client``'s pool, or ``None`` for a client without one
    (a Redis Cluster client routes each key to its node itself)."""
    pool = getattr(client, "connection_pool", None)
    return DirectCalls(pool, size) if isinstance(pool, aredis.ConnectionPool) else None
