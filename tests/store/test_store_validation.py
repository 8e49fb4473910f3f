"""Bad input: a ValidationError naming the field, and not one key written or changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import validation as v
from pipeline.errors import ValidationError
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import URL, new_job, snapshot

Call = Callable[[JobStore, str, Workflow], Any]

CREATE_CASES: list[tuple[str, Call]] = [
    ("job_id", lambda s, j, w: s.create(URL, job_id="has space")),
    ("job_id", lambda s, j, w: s.create(URL, job_id="{hash-tag}")),
    ("job_id", lambda s, j, w: s.create(URL, job_id="x" * 65)),
    ("job_id", lambda s, j, w: s.create(URL, job_id="-leading-dash")),
    ("metadata.url", lambda s, j, w: s.create("")),
    ("metadata.url", lambda s, j, w: s.create("ftp://files.example.com/a.mp3")),
    ("metadata.url", lambda s, j, w: s.create("javascript:alert(1)")),
    ("metadata.url", lambda s, j, w: s.create("https:///no-host")),
    ("metadata.url", lambda s, j, w: s.create("https://a.example.com/a b")),
    ("metadata.url", lambda s, j, w: s.create("https://a.example.com/\x00")),
    ("metadata.url", lambda s, j, w: s.create("https://a.example.com/" + "a" * 3000)),
    ("metadata.url", lambda s, j, w: s.create(42)),  # type: ignore[arg-type]
    ("metadata.space_id", lambda s, j, w: s.create(URL, space_id="<script>")),
    ("metadata.task_id", lambda s, j, w: s.create(URL, task_id="bad task id")),
    ("message", lambda s, j, w: s.create(URL, message=123)),  # type: ignore[arg-type]
]

WRITE_CASES: list[tuple[str, Call]] = [
    ("job_id", lambda s, j, w: s.set_state("bad id", w.initial)),
    ("status", lambda s, j, w: s.set_state(j, "NOT_A_STATUS")),
    ("status", lambda s, j, w: s.set_state(j, w.initial.lower())),
    ("status", lambda s, j, w: s.set_state(j, None)),  # type: ignore[arg-type]
    ("attempt", lambda s, j, w: s.set_state(j, w.happy_path()[1], attempt=-1)),
    ("attempt", lambda s, j, w: s.set_state(j, w.happy_path()[1], attempt=True)),
    ("attempt", lambda s, j, w: s.set_state(j, w.happy_path()[1], attempt="1")),  # type: ignore[arg-type]
    ("message", lambda s, j, w: s.set_state(j, w.happy_path()[1], message=b"x")),  # type: ignore[arg-type]
    ("error", lambda s, j, w: s.set_state(j, w.error)),
    ("error", lambda s, j, w: s.set_state(j, w.error, error="\x00\x01 \t")),
    ("error", lambda s, j, w: s.set_state(j, w.error, error=["list"])),  # type: ignore[arg-type]
    ("metadata.task_id", lambda s, j, w: s.set_state(j, w.happy_path()[1], task_id="a b")),
    ("progress", lambda s, j, w: s.set_state(j, w.happy_path()[1], progress={1, 2})),
    ("progress", lambda s, j, w: s.set_state(j, w.happy_path()[1], progress=float("nan"))),
    ("progress", lambda s, j, w: s.set_state(j, w.happy_path()[1], progress="x" * 5000)),
    ("result", lambda s, j, w: s.set_state(j, w.happy_path()[1], result=object())),
    ("result", lambda s, j, w: s.set_state(j, w.happy_path()[1], result={"inf": float("inf")})),
    ("progress", lambda s, j, w: s.progress(j, "x" * 5000)),
    ("progress", lambda s, j, w: s.progress(j, {"bad": {1}})),
    # Flat objects of scalars take the encoder's short way: the same refusals.
    ("progress", lambda s, j, w: s.progress(j, {"percent": float("nan")})),
    ("progress", lambda s, j, w: s.progress(j, {"note": "\ud800"})),
    ("progress", lambda s, j, w: s.progress(j, {"n": 10**5000})),
    ("progress", lambda s, j, w: s.progress(j, {"note": "x" * 5000})),
    ("status", lambda s, j, w: s.progress(j, 1, status="NOPE")),
    ("attempt", lambda s, j, w: s.progress(j, 1, attempt=-3)),
    ("message", lambda s, j, w: s.progress(j, 1, message=5)),  # type: ignore[arg-type]
    ("job_id", lambda s, j, w: s.progress("", 1)),
    ("status", lambda s, j, w: s.heartbeat(j, status="NOPE")),
    ("job_id", lambda s, j, w: s.heartbeat("a:b")),
    ("attempt", lambda s, j, w: s.retry(j, attempt=-1)),
    ("message", lambda s, j, w: s.retry(j, message=1.5)),  # type: ignore[arg-type]
    ("job_id", lambda s, j, w: s.fail("{x}", "boom")),
    ("error", lambda s, j, w: s.fail(j, "")),
    ("job_id", lambda s, j, w: s.clear_state("a b")),
    ("job_id", lambda s, j, w: s.get_state("a b")),
    ("job_id", lambda s, j, w: s.history("{x}")),
    ("limit", lambda s, j, w: s.list_jobs(limit=0)),
    ("limit", lambda s, j, w: s.list_jobs(limit=1001)),
    ("limit", lambda s, j, w: s.list_jobs(offset=-1)),
]


def _case_id(case: tuple[str, Call]) -> str:
    return case[0]


def _assert_rejected(store: JobStore, wf: Workflow, job_id: str, field: str, call: Call) -> None:
    before = snapshot(store.client, store.settings.key_prefix)
    with pytest.raises(ValidationError) as caught:
        call(store, job_id, wf)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert snapshot(store.client, store.settings.key_prefix) == before


@pytest.mark.parametrize(("field", "call"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_bad_create_input_names_the_field_and_writes_nothing(
    store: JobStore, wf: Workflow, field: str, call: Call
) -> None:
    existing = new_job(store, wf.happy_path()[1])
    _assert_rejected(store, wf, existing, field, call)


@pytest.mark.parametrize(("field", "call"), WRITE_CASES, ids=[c[0] for c in WRITE_CASES])
def test_bad_write_input_names_the_field_and_writes_nothing(
    store: JobStore, wf: Workflow, field: str, call: Call
) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    _assert_rejected(store, wf, job_id, field, call)


def test_validation_happens_before_any_lookup(store: JobStore) -> None:
    with pytest.raises(ValidationError):
        store.set_state("ghost", "NOT_A_STATUS")
    assert snapshot(store.client, store.settings.key_prefix) == {}


def test_text_is_cleaned_not_refused(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    store.progress(job_id, 1, message="  two\nlines\x00 and\x1b[31m colour\u200b ")
    assert store.get_state(job_id)["message"] == "two lines and[31m colour"


def test_long_text_is_capped(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    store.fail(job_id, "e" * 10_000)
    record = store.get_state(job_id)
    assert len(record["error"]) == v.MAX_ERROR
    assert record["error"].endswith("…")


# -- timestamps (validation of records that come from outside, e.g. an import) --------------


def test_timestamps_must_be_iso_utc_and_not_in_the_future() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert v.check_timestamp("2026-01-02T03:04:05.123Z", now=now) == "2026-01-02T03:04:05.123Z"
    assert v.parse_timestamp("2026-01-02T05:04:05+02:00") == now
    for bad in ("2026-01-02", "yesterday", "2026-13-01T00:00:00Z", "2026-01-02T03:04:05", 17):
        with pytest.raises(ValidationError) as caught:
            v.check_timestamp(bad, now=now)
        assert caught.value.field == "updated_at"
    future = (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    with pytest.raises(ValidationError, match="in the future"):
        v.check_timestamp(future, "created_at", now=now)
