"""The service layer: submit, retry, and what happens when the broker is down."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pipeline.errors import EnqueueFailed, InvalidTransition, ValidationError
from pipeline.service import JobService
from pipeline.settings import Settings, redact_url
from pipeline.store import JobStore


def test_submit_creates_and_enqueues_context(state_store: JobStore) -> None:
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    record = service.submit("https://example.com/a.mp3", "space-1")
    assert record["status"] == "INIT"
    assert record["stale"] is False
    assert sent == [
        {
            "job_id": record["job_id"],
            "attempt": 1,
            "url": "https://example.com/a.mp3",
            "space_id": "space-1",
            "input": {"url": "https://example.com/a.mp3", "space_id": "space-1"},
            "artifacts": {},
        }
    ]


def test_bad_url_is_refused_and_nothing_is_stored(state_store: JobStore) -> None:
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    with pytest.raises(ValidationError) as err:
        service.submit("javascript:alert(1)")
    assert err.value.field == "metadata.url"
    assert sent == []
    assert state_store.list_jobs() == []


def test_broker_down_marks_the_job_error_without_leaking_credentials(
    state_store: JobStore,
) -> None:
    def down(ctx: dict[str, Any]) -> None:
        raise ConnectionError("cannot reach amqp://admin:s3cret@broker:5672//")

    service = JobService(state_store, down)
    with pytest.raises(EnqueueFailed) as caught:
        service.submit("https://example.com/a.mp3")
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert "s3cret" not in str(caught.value)
    [record] = state_store.list_jobs()
    assert caught.value.job_id == record["job_id"]
    assert record["status"] == "ERROR"
    assert "s3cret" not in record["error"]
    assert record["error"] == (
        "could not enqueue: ConnectionError: cannot reach amqp://***@broker:5672//"
    )


def test_two_simultaneous_retries_start_one_attempt(state_store: JobStore) -> None:
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    job_id = service.submit("https://example.com/a.mp3")["job_id"]
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    state_store.fail(job_id, "boom", attempt=1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click() -> None:
        barrier.wait()
        try:
            service.retry(job_id)
            outcomes.append("started")
        except InvalidTransition:
            outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert state_store.get_state(job_id)["attempt"] == 2
    assert [c["attempt"] for c in sent] == [1, 2]


def test_settings_never_show_passwords() -> None:
    settings = Settings(
        redis_url="rediss://user:hunter2@cache:6380/0", broker_url="amqp://guest:guest@mq//"
    )
    assert "hunter2" not in repr(settings)
    assert "guest@" not in repr(settings)
    assert redact_url("rediss://user:hunter2@cache:6380/0") == "rediss://user:***@cache:6380/0"


def test_settings_round_trip_through_env() -> None:
    settings = Settings(
        redis_url="redis://x:1/2",
        allow_hosts=("a", "b:3"),
        cluster=True,
        heartbeat_seconds=0.5,
        max_stage_runs=7,
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="JOBSTATE_MAX_STAGE_RUNS='many' is not a valid int"):
        Settings.from_env({"JOBSTATE_MAX_STAGE_RUNS": "many"})
