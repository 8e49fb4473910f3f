"""Whole-record validation (the PRD's status, timestamp and metadata checks)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ValidationError
from pipeline.store import JobStore
from pipeline.validation import check_record


def _record(store: JobStore) -> dict[str, Any]:
    job_id = store.create("https://example.com/a.mp3", space_id="s-1").job_id
    store.set_state(job_id, "DOWNLOADING", attempt=1, task_id="t-1")
    return store.get_state(job_id)


def test_stored_records_pass(state_store: JobStore) -> None:
    record = _record(state_store)
    assert check_record(record, state_store.workflow) is record
    state_store.fail(record["job_id"], "boom", attempt=1)
    check_record(state_store.get_state(record["job_id"]), state_store.workflow)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "DONE"),
        ("updated_at", "yesterday"),
        ("updated_at", "2999-01-01T00:00:00.000Z"),
        ("created_at", "2026-02-30T00:00:00.000Z"),
        ("version", 0),
        ("attempt", True),
        ("error", "set while running"),
    ],
)
def test_bad_field_is_named(state_store: JobStore, field: str, value: object) -> None:
    record = _record(state_store) | {field: value}
    with pytest.raises(ValidationError) as err:
        check_record(record, state_store.workflow)
    assert err.value.field == field


def test_bad_metadata_is_named(state_store: JobStore) -> None:
    record = _record(state_store)
    record["metadata"] = {**record["metadata"], "url": "ftp://x/y"}
    with pytest.raises(ValidationError) as err:
        check_record(record, state_store.workflow)
    assert err.value.field == "metadata.url"


def test_created_after_updated_is_refused(state_store: JobStore) -> None:
    record = _record(state_store)
    record["created_at"] = "2026-01-02T00:00:00.000Z"
    record["updated_at"] = "2026-01-01T23:59:59.999Z"
    with pytest.raises(ValidationError, match="earlier than created_at"):
        check_record(record, state_store.workflow)
