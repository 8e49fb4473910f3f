"""The resize pipeline in the default mode: eager Celery on fake Redis (fast)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline import ValidationError
from pipeline.store import JobStore

HAPPY = ["QUEUED", "RESIZING", "UPLOADING", "DONE"]


def test_a_job_resizes_and_uploads_the_image(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    image: str,
    uploaded_size: Callable[[str], tuple[int, int]],
) -> None:
    record = job_runner.run({"image": image, "width": 30, "height": 20})
    assert record["status"] == "DONE", record
    assert record["input"] == {"image": image, "width": 30, "height": 20}
    assert record["result"]["size"] == [30, 20]
    assert uploaded_size(record["job_id"]) == (30, 20)
    state_recorder.assert_path(record["job_id"], HAPPY)
    state_recorder.assert_all_legal()


def test_progress_is_reported_while_resizing(
    job_runner: JobRunner, state_recorder: StateRecorder, image: str
) -> None:
    job_id = job_runner.submit({"image": image, "width": 12, "height": 8})
    job_runner.wait_for(job_id, "DONE")
    progress = [e for e in state_recorder.history(job_id) if e["kind"] == "progress"]
    assert {e["status"] for e in progress} == {"RESIZING"}
    assert len(progress) == 2


@pytest.mark.parametrize(
    ("job_input", "field"),
    [
        ({"image": "cat.png", "width": 0, "height": 10}, "input.width"),
        ({"image": "cat.png", "width": 10, "height": 5000}, "input.height"),
        ({"image": "../etc/passwd", "width": 10, "height": 10}, "input.image"),
        ({"image": "cat.png", "width": 10}, "input.height"),
        ({"image": "cat.png", "width": 10, "height": 10, "quality": 9}, "input.quality"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    job_runner: JobRunner, state_store: JobStore, job_input: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        job_runner.submit(job_input)
    assert caught.value.field == field
    assert state_store.list_jobs() == []


def test_a_missing_image_fails_naming_the_stage(
    job_runner: JobRunner, state_recorder: StateRecorder
) -> None:
    record = job_runner.run({"image": "missing.png", "width": 10, "height": 10})
    assert record["status"] == "FAILED"
    assert record["error"].startswith("RESIZING: FileNotFoundError")
    state_recorder.assert_path(record["job_id"], ["QUEUED", "RESIZING", "FAILED"])
