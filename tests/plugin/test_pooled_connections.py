"""A redis-server restarted by one test leaves no dead pooled connection to the next.

kombu pools broker connections per URL for the whole process, and Celery's apps take
theirs from those pools; the session's redis-server keeps its URL across a restart.
"""

from __future__ import annotations

import pytest
from celery import Celery

from pipeline.procs.redis_server import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.jobstate_redis("server")]

NOBODY = ["nobody@nowhere"]
"""A ping to a node no worker has: it goes through the pooled connections all the same,
and no idle worker kept from an earlier test answers it."""


def test_a_test_restarts_the_server_under_pooled_connections(
    jobstate_celery_app: Celery, redis_server: RedisServer
) -> None:
    assert (
        jobstate_celery_app.control.ping(destination=NOBODY, timeout=0.2) == []
    )  # a pooled connection, now open
    redis_server.restart()  # as a test may do itself, without the fault injector


def test_the_next_test_finds_live_connections(jobstate_celery_app: Celery) -> None:
    assert jobstate_celery_app.control.ping(destination=NOBODY, timeout=0.2) == []
