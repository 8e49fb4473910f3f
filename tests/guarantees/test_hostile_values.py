"""Values that once broke every reader: lone surrogates, deep nesting, bad URLs, huge text.

Each test names the slip it guards against; each failed before the fix it documents.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline import validation as v
from pipeline.errors import ValidationError
from pipeline.job_input import JobInput
from pipeline.records import record_from_hash
from pipeline.store import JobStore
from tests.asgi import AppClient

URL = "https://media.example.com/talk.mp3"
_FLOW_ARGS: dict[str, Any] = {
    "name": "tagged",
    "statuses": {"NEW": "Queued", "WORK": "Working", "DONE": "Done", "FAILED": "Failed"},
    "initial": "NEW",
    "terminal": frozenset({"DONE", "FAILED"}),
    "error": "FAILED",
    "transitions": {"NEW": {"WORK"}, "WORK": {"DONE"}},
    "stages": ("WORK",),
}


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def _running(store: JobStore) -> str:
    job_id = store.create(URL).job_id
    store.set_state(job_id, "DOWNLOADING", attempt=1)
    return job_id


def _write(store: JobStore, job_id: str, field: str, value: Any) -> None:
    if field == "progress":
        store.progress(job_id, value, attempt=1)
    else:
        store.set_state(job_id, "TRANSCRIBING", attempt=1, result=value)


@pytest.mark.parametrize("field", ["progress", "result"])
@pytest.mark.parametrize(
    "value",
    [
        {"detail": "x\ud800y"},
        {"k\udfff": 1},
        ["ok", ["\udc80"]],
    ],
    ids=["value", "key", "nested-list"],
)
def test_lone_surrogate_is_refused_naming_the_field(
    state_store: JobStore, field: str, value: Any
) -> None:
    # Slip: json.dumps' default ensure_ascii=True lets "\ud800" through as an escape that
    # no UTF-8 reader can ever print again.
    job_id = _running(state_store)
    before = state_store.get_state(job_id)
    with pytest.raises(ValidationError) as caught:
        _write(state_store, job_id, field, value)
    assert caught.value.field.startswith(field)
    assert "UTF-8" in caught.value.problem
    assert state_store.get_state(job_id) == before  # nothing written


@pytest.mark.parametrize("field", ["progress", "result"])
def test_deep_nesting_is_a_validation_error_not_a_recursion_error(
    state_store: JobStore, field: str
) -> None:
    job_id = _running(state_store)
    before = state_store.get_state(job_id)
    with pytest.raises(ValidationError) as caught:
        _write(state_store, job_id, field, _nested(1500))
    assert caught.value.field == field
    assert "deeper than" in caught.value.problem
    assert state_store.get_state(job_id) == before


def test_nesting_up_to_the_limit_is_stored_and_read_back(state_store: JobStore) -> None:
    job_id = _running(state_store)
    ok = _nested(v.MAX_JSON_DEPTH - 1)
    state_store.progress(job_id, ok, attempt=1)
    assert state_store.get_state(job_id)["progress"] == ok


def test_valid_unicode_is_kept_exactly(state_store: JobStore) -> None:
    job_id = _running(state_store)
    value = {"emoji": "🎙️ done", "cjk": "完成", "rtl": "\u202eevil", "nul": "a\x00b"}
    state_store.progress(job_id, value, attempt=1)
    assert state_store.get_state(job_id)["progress"] == value


def _poison_hash(state_store: JobStore, job_id: str, field: str, raw: str) -> None:
    state_store.client.hset(state_store.keys.state(job_id), field, raw)


@pytest.mark.parametrize(
    "raw",
    ['{"detail":"x\\ud800y"}', "{not json", "[" * 5000 + "]" * 5000],
    ids=["surrogate", "garbage", "deep"],
)
def test_a_record_damaged_outside_the_store_still_reads_and_lists(
    state_store: JobStore, raw: str
) -> None:
    # A record written by an older version or by hand must never break every reader.
    bad = _running(state_store)
    good = _running(state_store)
    _poison_hash(state_store, bad, "progress", raw)
    record = state_store.get_state(bad)
    json.dumps(record, ensure_ascii=False).encode("utf-8")  # printable by any JSON writer
    listed = {r["job_id"]: r for r in state_store.list_jobs()}
    assert set(listed) >= {bad, good}
    assert listed[good]["status"] == "DOWNLOADING"
    json.dumps(listed[bad], ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "damage",
    [
        {"version": None, "updated_ms": None},  # KeyError
        {"updated_ms": "soon"},  # ValueError
        {"updated_ms": "9" * 30},  # OverflowError: neither of the two above
        {"attempt": "\xff\xfe"},  # undecodable bytes
    ],
    ids=["missing", "not-a-number", "overflow", "bytes"],
)
def test_a_record_too_damaged_to_read_is_left_out_of_the_list_whatever_it_raises(
    state_store: JobStore, damage: dict[str, str | None], caplog: pytest.LogCaptureFixture
) -> None:
    # Slip: the listing skipping only KeyError and ValueError (one record then fails
    # every listing, for every client, until it is deleted).
    good = _running(state_store)
    broken = _running(state_store)
    key = state_store.keys.state(broken)
    for field, value in damage.items():
        if value is None:
            state_store.client.hdel(key, field)
        else:
            state_store.client.hset(key, field, value.encode("latin-1"))
    for _ in range(3):  # every poll of the page's list
        ids = [r["job_id"] for r in state_store.list_jobs()]
        assert good in ids
        assert broken not in ids
    reports = [r for r in caplog.records if broken in r.getMessage()]
    assert len(reports) == 1  # logged once, not at every poll


def test_record_from_hash_replaces_lone_surrogates_from_json() -> None:
    raw = {
        "job_id": "j1",
        "status": "INIT",
        "updated_ms": "1000",
        "created_ms": "1000",
        "heartbeat_ms": "1000",
        "version": "1",
        "attempt": "1",
        "result": '{"a":["\\udc00"]}',
    }
    record = record_from_hash(raw)
    assert record["result"] == {"a": ["\ufffd"]}


@pytest.mark.parametrize(
    "url",
    [
        "http://a:99999/",
        "http://a:0/",
        "http://a:65536/x",
        "http://%zz/x",
        "http://a:-1/",
        "http://a:8o/",
        "https://[::1/x",
    ],
)
def test_urls_with_impossible_ports_or_hosts_are_refused_at_create(
    state_store: JobStore, url: str
) -> None:
    # Slip: checking only the scheme and that a host exists queues URLs the download can
    # never fetch.
    with pytest.raises(ValidationError) as caught:
        state_store.create(url)
    assert caught.value.field == "metadata.url"
    assert state_store.list_jobs() == []


@pytest.mark.parametrize(
    "url", ["http://a:1/", "http://a:65535/x", "https://[2001:db8::1]:8443/a", "http://ü.example/"]
)
def test_urls_at_the_edges_are_accepted(url: str) -> None:
    assert v.check_url(url) == url


def test_clean_text_cuts_before_scanning(monkeypatch: pytest.MonkeyPatch) -> None:
    # Slip: normalising the whole 10 MB string before cutting it to 300 characters.
    seen: list[int] = []
    real = v.unicodedata.normalize

    def spy(form: Any, text: str) -> str:
        seen.append(len(text))
        return real(form, text)

    monkeypatch.setattr(v.unicodedata, "normalize", spy)
    out = v.clean_text("é" * 10_000_000, "error", 300)
    assert len(out) == 300
    assert out.endswith("…")
    assert seen
    assert max(seen) <= 300 * 4


def test_clean_text_still_strips_controls_inside_the_kept_part() -> None:
    text = "a\x00b\x1b[31mc\nd" + "\x07" * 10_000_000
    assert v.clean_text(text, "message", 50) == "ab[31mc d"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        b'{"url": "https://media.example/talk.mp3", "\\ud800": 1}',
        b'{"url": "https://media.example/talk.mp3", "\xed\xa0\x80": 1}',
        b'{"url": "https://media.example/talk.mp3", "\\ud800\\n\\u001b": {"\\udfff": 1}}',
    ],
    ids=["escaped", "raw-bytes", "controls"],
)
async def test_a_lone_surrogate_in_an_input_key_is_a_4xx_naming_it_escaped(
    state_store: JobStore, body: bytes
) -> None:
    # Slip: the raw key put into the error's field name; encoding the answer then fails (500).

    from pipeline.service import JobService
    from ui.app import create_app

    app = create_app(JobService(state_store, lambda ctx: None))
    async with AppClient(app) as client:
        answer = await client.post(
            "/api/jobs", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code in (400, 422), answer.text
    answer.content.decode("utf-8")  # valid UTF-8 all through
    if answer.status_code == 422:
        assert "\\ud800" in answer.json()["detail"]  # named, escaped
    assert state_store.list_jobs() == []


@pytest.mark.parametrize("depth", [480, 500, 5000])
def test_a_deep_input_is_refused_at_the_gate_and_a_deep_stored_one_still_reads(
    state_store: JobStore, depth: int
) -> None:
    # Slips: the depth bound on progress and result only, not the input; a recursive
    # redaction on the read side (a record stored deep by an older version).
    from pipeline.workflow import Workflow

    flow = Workflow(**{**_FLOW_ARGS, "input": JobInput(optional={"tags": dict})})
    store = JobStore(state_store.client, flow, state_store.settings)
    with pytest.raises(ValidationError) as caught:
        store.create({"tags": _nested(depth)})
    assert caught.value.field == "input"
    assert "deeper than" in caught.value.problem
    job_id = store.create({"tags": {}}).job_id
    deep = '{"tags":' + '{"k":' * depth + "1" + "}" * depth + "}"
    state_store.client.hset(store.keys.state(job_id), "input", deep)
    record = store.get_state(job_id)
    assert record["input"] is None  # shown as damaged, not a RecursionError
    assert [r["job_id"] for r in store.list_jobs()] == [job_id]
    json.dumps(record, indent=2)  # what `jobstate status` prints


def test_a_damaged_history_entry_is_left_out_and_the_rest_still_read(
    state_store: JobStore,
) -> None:
    # Slip: one entry written by hand (or an older version) failing the whole history.
    job_id = _running(state_store)
    state_store.client.xadd(state_store.keys.history(job_id), {"v": "x", "kind": "\xff"})
    entries = state_store.history(job_id)
    assert [e["status"] for e in entries] == ["INIT", "DOWNLOADING"]
