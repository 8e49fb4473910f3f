"""The external-services tier: RabbitMQ as the broker, and a shared Redis on 6379.

These run against the services already running on the machine (``JOBSTATE_EXTERNAL_AMQP``
and ``JOBSTATE_EXTERNAL_REDIS`` override the addresses). Only ``tox -e external`` runs
them; when a service is down they fail, they never skip.
"""

from __future__ import annotations

import os

import pytest
from celery import Celery

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings
from tests.pipeline.conftest import HAPPY

AMQP = os.environ.get("JOBSTATE_EXTERNAL_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
SHARED_REDIS = os.environ.get("JOBSTATE_EXTERNAL_REDIS", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.external


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Use RabbitMQ as the broker when the test asks for it."""
    if request.node.get_closest_marker("rabbitmq"):
        return pipeline_settings.with_(broker_url=AMQP)
    return pipeline_settings


@pytest.mark.rabbitmq
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_chain_over_rabbitmq_broker(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    media_server: SampleServer,
    jobstate_celery_app: Celery,
) -> None:
    assert jobstate_celery_app.conf.broker_url.startswith("amqp://")
    record = job_runner.run(media_server.url, timeout=120)
    assert record["status"] == "COMPLETE"
    state_recorder.assert_path(record["job_id"], HAPPY)


@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis(SHARED_REDIS)
def test_chain_on_shared_redis_stays_in_its_namespace(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    media_server: SampleServer,
) -> None:
    store = job_runner.service.store
    record = job_runner.run(media_server.url, timeout=120)
    assert record["status"] == "COMPLETE"
    state_recorder.assert_path(record["job_id"], HAPPY)
    ours = list(store.client.scan_iter(match=f"{store.settings.key_prefix}:*", count=1000))
    assert ours, "the job's keys should live under the test's own prefix"
    assert all(k.decode().startswith(store.settings.key_prefix) for k in ours)
