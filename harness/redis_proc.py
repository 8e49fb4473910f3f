"""Re-export of :mod:`pipeline.procs.redis_server` (a ``redis-server`` process, no pytest).

Kept so ``from harness.redis_proc import RedisServer`` in other repos goes on working.
"""

from __future__ import annotations

from pipeline.procs.redis_server import (
    MISSING_BINARY,
    FakeTcpRedis,
    RedisServer,
    RedisServerError,
    RedisServerNotFound,
    free_port,
    start_redis_server,
)

__all__ = [
    "MISSING_BINARY",
    "FakeTcpRedis",
    "RedisServer",
    "RedisServerError",
    "RedisServerNotFound",
    "free_port",
    "start_redis_server",
]
