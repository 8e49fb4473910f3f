"""Single Redis commands on a client's own connections, without its per-call layers.

redis-py's clients spend more on each call (pool bookkeeping, retry wrapping, health
checks, encoding each argument) than a poll's read or a stage's write costs Redis. These
keep idle connections of the client's pool in a list and write each command in one piece,
one command at a time per connection.

:class:`DirectCalls` (asyncio, the web API's reads): at most ``size`` connections at once;
a connection found dead on reuse (a Redis restart closed it) is replaced and the command
sent once more; a call cancelled mid-way drops its connection, whose reply state is then
unknown. :class:`SyncDirectCalls` (threads, the store's writes): an idle connection the
server closed is reconnected before the command is sent, then the connection's own retry
policy applies, as with the client; idle connections are forgotten after a fork.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from typing import Any

import anyio
import redis
import redis.asyncio as aredis
from redis.sentinel import SentinelConnectionPool

__all__ = ["DirectCalls", "SyncDirectCalls", "direct_calls", "pack", "sync_direct_calls"]

_LOST = (redis.ConnectionError, redis.TimeoutError, OSError)


def pack(*args: bytes | str | int) -> bytes:
    """One command in the Redis protocol (RESP2 array of bulk strings)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        # Exact ``str`` first: nearly every argument is one, and ``str(arg)`` of it is a copy.
        if type(arg) is str:
            data = arg.encode("utf-8")
        else:
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
            # One timeout over the write and the read, as redis-py gives each of them: a
            # timeout context is a good part of a poll's CPU.
            async with asyncio.timeout(conn.socket_timeout):
                await _send(conn, packed)
                reply = await conn.read_response(timeout=math.inf)  # within the one above
        except redis.ResponseError:
            self._idle.append(conn)  # an error reply: the connection is in step
            raise
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await conn.disconnect(nowait=True)
            if isinstance(exc, TimeoutError):
                raise redis.TimeoutError("Timeout talking to Redis") from None
            raise
        self._idle.append(conn)
        return reply

    async def aclose(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()


async def _send(conn: Any, packed: bytes) -> None:
    """Write one packed command, as redis-py's ``send_packed_command`` does but without
    its ``asyncio.wait_for`` (a task per write on Python 3.11); the caller bounds the
    time. A lost connection raises ``redis.ConnectionError``, as there."""
    try:
        await conn._send_packed_command([packed])
    except OSError as exc:
        raise redis.ConnectionError(f"Error while writing to socket: {exc}") from exc


def direct_calls(client: Any, size: int) -> DirectCalls | None:
    """:class:`DirectCalls` on ``client``'s pool, or ``None`` for a client without one
    (a Redis Cluster client routes each key to its node itself)."""
    pool = getattr(client, "connection_pool", None)
    return DirectCalls(pool, size) if isinstance(pool, aredis.ConnectionPool) else None


class SyncDirectCalls:
    """Commands on connections made by ``pool`` from any thread (see the module docs)."""

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self._pool = pool
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closes = 0  # how many times close() ran: a call begun before one ends closed

    def call(self, *args: bytes | str | int) -> Any:
        """Send one command and return its reply (error replies raise as redis-py's)."""
        chunks = [pack(*args)]
        closes = self._closes
        conn = self._take()
        try:
            reply = conn.retry.call_with_retry(
                lambda: self._exchange(conn, chunks), lambda _error: conn.disconnect()
            )
        except redis.ResponseError:
            self._give(conn, closes)  # an error reply: the connection is in step
            raise
        except BaseException:
            conn.disconnect()
            raise
        self._give(conn, closes)
        return reply

    @staticmethod
    def _exchange(conn: Any, chunks: list[bytes]) -> Any:
        conn.send_packed_command(chunks, check_health=False)
        return conn.read_response()

    def _take(self) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the sockets are the parent's
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            return self._pool.make_connection()
        _drop_if_closed(conn)
        return conn

    def _give(self, conn: Any, closes: int) -> None:
        with self._lock:
            if self._pid == os.getpid() and closes == self._closes:
                self._idle.append(conn)
                return
        conn.disconnect()  # taken before a close(): it ends closed, as if it had been idle

    def close(self) -> None:
        """Close the idle connections, and each one in use as its call ends."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._closes += 1
        for conn in idle:
            conn.disconnect()


def _drop_if_closed(conn: Any) -> None:
    """Disconnect an idle connection the server closed (a restart): readable while idle
    means end of file. The next send reconnects, so the command is sent once, to a live
    server, as the client's own pool would see to it."""
    try:
        closed = conn.can_read()
    except (redis.ConnectionError, OSError):
        closed = True
    if closed:
        conn.disconnect()


_SHARED = "_jobstate_direct_calls"


def sync_direct_calls(client: Any) -> SyncDirectCalls | None:
    """The :class:`SyncDirectCalls` of ``client``'s pool, one per pool, kept on it: every
    store made on a client shares its idle connections (the connections it makes count
    against the pool's limit, so one set per store would run a long-lived client out of
    them). ``None`` for a cluster client (no one pool) and a sentinel-managed one (its
    client retries through a failover)."""
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, redis.ConnectionPool) or isinstance(pool, SentinelConnectionPool):
        return None
    calls: SyncDirectCalls | None = getattr(pool, _SHARED, None)
    if calls is None:
        calls = SyncDirectCalls(pool)
        setattr(pool, _SHARED, calls)
        _close_with(pool, calls)
    return calls


def _close_with(pool: redis.ConnectionPool, calls: SyncDirectCalls) -> None:
    """Make ``pool.disconnect()`` (what ``client.close()`` calls) close ``calls``' idle
    connections too: the pool made them but does not list them, so without this they
    stayed open until the garbage collector found them, and a socket collected unclosed
    warns (``ResourceWarning``) in whatever code runs then."""
    disconnect = pool.disconnect

    def disconnect_all(*args: Any, **kwargs: Any) -> None:
        calls.close()
        disconnect(*args, **kwargs)

    pool.disconnect = disconnect_all  # type: ignore[method-assign]
