"""The security tier: Redis with ACLs and no anonymous access, and the fuzzed API.

Every test here runs on one session ``redis-server`` whose ``default`` user is off: the
test's backend (store, Celery broker and results, API) connects as the ``jobstate`` user,
limited by :func:`harness.testing.redis.acl.jobstate_acl_rules`; ``admin`` reads the ACL log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from harness.config import get_config
from harness.testing.redis.acl import apply_acl, denials
from harness.testing.redis.backend import RedisBackend, make_redis_backend
from pipeline.procs.redis_server import RedisServer

USER, ADMIN = "jobstate", "admin"


@dataclass(frozen=True)
class AclRedis:
    """A redis-server with an admin, the limited ``jobstate`` user and no default user."""

    server: RedisServer
    password: str
    admin_password: str

    @property
    def url(self) -> str:
        """The limited user's URL (what ``JOBSTATE_REDIS_URL`` holds in production)."""
        return f"redis://{USER}:{self.password}@{self.server.host}:{self.server.port}/0"

    def anonymous(self, **kwargs: Any) -> redis.Redis:
        """A client that sends no credentials (the caller closes it)."""
        return redis.Redis(host=self.server.host, port=self.server.port, **kwargs)

    def admin(self) -> redis.Redis:
        """A client as the admin user (the caller closes it)."""
        return self.anonymous(username=ADMIN, password=self.admin_password)

    def denials(self) -> list[dict[str, Any]]:
        """What the server refused the limited user since the last :meth:`forget`."""
        with self.admin() as admin:
            return denials(admin, USER)

    def forget(self) -> None:
        """Empty the ACL log."""
        with self.admin() as admin:
            admin.execute_command("ACL", "LOG", "RESET")


@pytest.fixture(scope="session")
def acl_redis(pytestconfig: pytest.Config) -> Iterator[AclRedis]:
    """Session: a redis-server where only ``admin`` and the limited ``jobstate`` user may
    connect (random passwords). Teardown: the server stops and its data is removed."""
    password, admin_password = secrets.token_hex(16), secrets.token_hex(16)
    with RedisServer(get_config(pytestconfig)["redis_exec"]) as server:
        with server.client() as setup:
            apply_acl(setup, USER, password)
            setup.execute_command(
                "ACL", "SETUSER", ADMIN, "reset", "on", f">{admin_password}", "~*", "&*", "+@all"
            )
            setup.execute_command("ACL", "SETUSER", "default", "reset", "off")
        yield AclRedis(server, password, admin_password)


@pytest.fixture
def redis_backend(acl_redis: AclRedis) -> Iterator[RedisBackend]:
    """Function: this test's backend on the ACL'd server, connected as the limited user.

    Unique key prefix and queue (both under ``jobstate*``); the ACL log starts empty.
    Teardown deletes the test's keys and closes its clients.
    """
    acl_redis.forget()
    backend = make_redis_backend(acl_redis.url)
    try:
        yield backend
    finally:
        backend.close()
