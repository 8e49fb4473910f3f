"""Only JSON is accepted: a pickle message is refused and nothing runs."""

from __future__ import annotations

import pytest
from celery import Celery

from harness.testing.runner import JobRunner
from pipeline.celery_app import celery_config
from pipeline.sample_server import SampleServer
from pipeline.service import job_context
from pipeline.settings import Settings
from pipeline.store import JobStore


def test_config_is_json_only() -> None:
    conf = celery_config(Settings())
    assert conf["accept_content"] == ["json"]
    assert conf["result_accept_content"] == ["json"]
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["task_acks_late"]
    assert conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["broker_transport_options"]["visibility_timeout"] > conf["task_time_limit"]
    assert conf["task_soft_time_limit"] < conf["task_time_limit"]


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_pickle_message_is_refused(
    job_runner: JobRunner,
    jobstate_celery_app: Celery,
    state_store: JobStore,
    media_server: SampleServer,
) -> None:
    victim = state_store.create(media_server.url).job_id
    ctx = job_context(state_store.get_state(victim))
    jobstate_celery_app.send_task("jobstate.download", args=[ctx], serializer="pickle")
    # A JSON job sent afterwards on the same queue completes: the worker has consumed
    # (and refused) the pickle message before it.
    record = job_runner.run(media_server.url, timeout=120)
    assert record["status"] == "COMPLETE"
    untouched = state_store.get_state(victim)
    assert untouched["status"] == "INIT"
    assert untouched["version"] == 1
    assert state_store.history(victim)[-1]["kind"] == "create"
