"""Tracking rules that hold in every mode: fencing, quiet duplicates, bounded errors."""

from __future__ import annotations

import pytest
from celery import Celery

from harness.testing.recorder import StateRecorder
from pipeline.celery_app import SWEEP_TASK
from pipeline.service import job_context
from pipeline.store import JobStore
from pipeline.tracking import Tracker, sanitise_error
from tests.pipeline.conftest import HAPPY
from tests.store.conftest import wait_for_redis_time


@pytest.fixture
def jobstate_app_target() -> str:
    """Probe stages: no network or media work needed."""
    return "tests.pipeline.apps:create_probe_app"


def _ctx(store: JobStore) -> dict[str, object]:
    job_id = store.create("http://example.com/a.mp3").job_id
    return job_context(store.get_state(job_id))


def test_stale_attempt_run_stops_quietly(
    jobstate_celery_app: Celery, state_store: JobStore
) -> None:
    ctx = _ctx(state_store)
    job_id = str(ctx["job_id"])
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    state_store.fail(job_id, "boom", attempt=1, stage="DOWNLOADING")
    state_store.retry(job_id)
    before = state_store.get_state(job_id)
    result = Tracker.of(jobstate_celery_app).tasks["TRANSCRIBING"].apply(args=[ctx])
    assert result.state == "IGNORED"
    assert state_store.get_state(job_id) == before


def test_duplicate_of_an_earlier_stage_stops_quietly(
    jobstate_celery_app: Celery,
    state_store: JobStore,
) -> None:
    ctx = _ctx(state_store)
    job_id = str(ctx["job_id"])
    for status in ("DOWNLOADING", "TRANSCRIBING"):
        state_store.set_state(job_id, status, attempt=1)
    before = state_store.get_state(job_id)
    # A redelivered DOWNLOADING after the job moved on: fenced, no move, no hand-off; the
    # refusal is recorded in the history (a new version, the status unchanged).
    result = Tracker.of(jobstate_celery_app).tasks["DOWNLOADING"].apply(args=[ctx])
    assert result.state == "IGNORED"
    after = state_store.get_state(job_id)
    assert after == {**before, "version": before["version"] + 1}
    last = state_store.history(job_id)[-1]
    assert (last["kind"], last["status"]) == ("duplicate", "TRANSCRIBING")
    assert last["message"] == "delivery of DOWNLOADING refused: the job is already in TRANSCRIBING"


def test_cleared_job_stops_quietly(jobstate_celery_app: Celery, state_store: JobStore) -> None:
    ctx = _ctx(state_store)
    state_store.clear_state(str(ctx["job_id"]))
    result = Tracker.of(jobstate_celery_app).tasks["DOWNLOADING"].apply(args=[ctx])
    assert result.state == "IGNORED"
    assert state_store.find_state(str(ctx["job_id"])) is None


def test_redelivery_counts_runs_and_caps(
    jobstate_celery_app: Celery, state_store: JobStore
) -> None:
    ctx = _ctx(state_store)
    job_id = str(ctx["job_id"])
    cap = state_store.settings.max_stage_runs
    for run in range(1, cap + 1):
        w = state_store.set_state(job_id, "DOWNLOADING", attempt=1, max_runs=cap)
        assert w.status == "DOWNLOADING"
        assert w.reruns == (run if run > 1 else 0)
    w = state_store.set_state(job_id, "DOWNLOADING", attempt=1, max_runs=cap)
    assert w.status == "ERROR"
    assert state_store.get_state(job_id)["error"] == (
        f"DOWNLOADING: gave up after {cap} deliveries (worker lost?)"
    )


@pytest.mark.jobstate_celery("eager")
def test_eager_chain_records_exact_path(
    jobstate_celery_app: Celery,
    state_store: JobStore,
    state_recorder: StateRecorder,
) -> None:
    ctx = _ctx(state_store)
    Tracker.of(jobstate_celery_app).enqueue(ctx)
    job_id = str(ctx["job_id"])
    record = state_store.get_state(job_id)
    assert record["status"] == "COMPLETE"
    state_recorder.track(job_id)
    state_recorder.assert_path(job_id, HAPPY)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("bad\nsecond line"), "ValueError: bad"),
        (RuntimeError(), "RuntimeError"),
        (OSError("x" * 1000), None),
        (KeyError("\x00\x1b[31mred"), None),
    ],
)
def test_sanitised_errors_are_bounded_single_line(exc: Exception, expected: str | None) -> None:
    text = sanitise_error(exc)
    assert "\n" not in text
    assert "\x00" not in text
    assert "\x1b" not in text
    assert len(text) <= 300
    if expected is not None:
        assert text == expected


def test_beat_schedules_the_sweep_which_errors_silent_jobs(
    jobstate_celery_app: Celery, state_store: JobStore
) -> None:
    entry = jobstate_celery_app.conf.beat_schedule["jobstate-sweep"]
    assert entry["task"] == SWEEP_TASK
    assert entry["schedule"] <= 60
    job_id = state_store.create("http://example.com/a.mp3").job_id
    for status in ("DOWNLOADING", "TRANSCRIBING"):
        last = state_store.set_state(job_id, status, attempt=1)
    tracker = Tracker.of(jobstate_celery_app)
    tracker.store_factory = lambda: JobStore(
        state_store.client,
        state_store.workflow,
        state_store.settings.with_(stale_after_seconds=1, heartbeat_seconds=0.5),
    )
    assert jobstate_celery_app.tasks[SWEEP_TASK].apply().get() == {"stale": []}
    wait_for_redis_time(state_store.client, last.ms + 1000)  # silent for the whole threshold
    assert jobstate_celery_app.tasks[SWEEP_TASK].apply().get() == {"stale": [job_id]}
    record = state_store.get_state(job_id)
    assert record["status"] == "ERROR"
    assert "while TRANSCRIBING" in record["error"]
