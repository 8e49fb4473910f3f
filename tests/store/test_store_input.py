"""The store keeps each job's input: checked before the write, returned in the record."""

from __future__ import annotations

import pytest
import redis

from harness.testing.redis.backend import RedisBackend
from pipeline.errors import ValidationError
from pipeline.store import JobStore
from pipeline.validation import check_record
from tests.pipeline.input_apps import TALLY
from tests.store.conftest import URL


@pytest.fixture
def tally(redis_backend: RedisBackend) -> JobStore:
    """Function: a store for the tally workflow (its input is not a URL) on the test's Redis."""
    return redis_backend.store(TALLY, key_prefix=f"{redis_backend.settings.key_prefix}-tally")


def _keys(client: redis.Redis, prefix: str) -> list[bytes | str]:
    return list(client.scan_iter(match=f"{prefix}*"))


def test_a_non_url_input_is_stored_and_read_back(tally: JobStore) -> None:
    job_id = tally.create({"numbers": [1, 2, 3], "label": "first"}).job_id
    record = tally.get_state(job_id)
    assert record["input"] == {"numbers": [1, 2, 3], "label": "first"}
    assert record["metadata"] == {"task_id": None}  # no media-pipeline url or space_id
    assert record["status"] == "QUEUED"
    check_record(record, TALLY)


@pytest.mark.parametrize(
    ("job_input", "field"),
    [
        ({"label": "x"}, "input.numbers"),
        ({"numbers": "1,2"}, "input.numbers"),
        ({"numbers": [1, 2000]}, "input.numbers[1]"),
        ({"numbers": [], "colour": "red"}, "input.colour"),
        ("https://example.com/a.csv", "input"),
        (42, "input"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    tally: JobStore, job_input: object, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        tally.create(job_input)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert _keys(tally.client, tally.settings.key_prefix) == []


def test_a_url_is_refused_by_a_workflow_that_takes_an_object(tally: JobStore) -> None:
    with pytest.raises(ValidationError, match=r"'tally' takes a JSON object \(label, numbers\)"):
        tally.create("https://example.com/a.csv")


def test_the_media_pipeline_keeps_url_and_space_id_in_metadata_and_input(
    store: JobStore,
) -> None:
    job_id = store.create(URL, space_id="space-9").job_id
    record = store.get_state(job_id)
    assert record["metadata"] == {"url": URL, "space_id": "space-9", "task_id": None}
    assert record["input"] == {"url": URL, "space_id": "space-9"}
    other = store.create({"url": URL}).job_id
    assert store.get_state(other)["input"] == {"url": URL}


def test_the_input_survives_a_retry(tally: JobStore) -> None:
    job_id = tally.create({"numbers": [5]}).job_id
    tally.set_state(job_id, "ADDING", attempt=1)
    tally.fail(job_id, "boom", attempt=1)
    tally.retry(job_id)
    record = tally.get_state(job_id)
    assert (record["attempt"], record["input"]) == (2, {"numbers": [5]})


def test_credentials_in_an_input_are_hidden_from_reads(store: JobStore) -> None:
    secret = "https://user:hunter2@media.example.com/a.mp3"
    job_id = store.create(secret).job_id
    shown = store.get_state(job_id)
    assert "hunter2" not in str(shown)
    assert shown["input"]["url"] == "https://***@media.example.com/a.mp3"
    revealed = store.get_state(job_id, reveal_credentials=True)
    assert revealed["input"]["url"] == secret


def test_a_record_whose_input_breaks_the_workflow_fails_the_record_check(
    tally: JobStore,
) -> None:
    record = tally.get_state(tally.create({"numbers": [1]}).job_id)
    with pytest.raises(ValidationError) as caught:
        check_record({**record, "input": {"numbers": "one"}}, TALLY)
    assert caught.value.field == "input.numbers"
