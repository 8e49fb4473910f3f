"""A record damaged outside the store: every reader says so, naming the job and the field.

A field every record has (its id, status, version, attempt, times) missing or holding
something the store never writes there, whatever the bytes: a single read (the store, the
API's record and its poll, ``jobstate status``) raises or answers :class:`DamagedRecord`'s
one line, never a traceback, a bare 500 or the stored value; the listing leaves the job out
and still lists the others.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import start_blocking_portal
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import runtime
from pipeline.cli import cli
from pipeline.errors import DamagedRecord
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from tests.guarantees.doors import AsgiClient
from ui.app import create_app

FIELDS = ("job_id", "status", "version", "attempt", "created_ms", "updated_ms", "heartbeat_ms")
NUMBERS = FIELDS[2:]
GARBAGE = st.one_of(
    st.none(),  # the field deleted
    st.sampled_from(["", "soon", "1.5", "9" * 30, "-" + "9" * 30, "0x10", " ", "\u0661"]),
    st.binary(min_size=1, max_size=12),
)
SECRET = "s3cr3t-in-the-damage"


@pytest.fixture
def api(state_store: JobStore) -> Iterator[AsgiClient]:
    """Function: the web API on the test's store, called in this process."""
    with start_blocking_portal() as portal:
        client = AsgiClient(create_app(JobService(state_store, lambda ctx: None)), portal)
        yield client
        client.close()


@pytest.fixture
def cli_on_store(
    state_store: JobStore, jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Function: ``jobstate``'s environment, its Redis client the test's (any mode)."""
    monkeypatch.setattr(runtime, "redis_client", lambda *a, **k: state_store.client)
    return jobstate_settings.to_env()


def _damage(store: JobStore, job_id: str, field: str, value: str | bytes | None) -> None:
    key = store.keys.state(job_id)
    if value is None:
        store.client.hdel(key, field)
    else:
        store.client.hset(key, field, value)


def _broken_value(field: str, value: str | bytes | None) -> bool:
    """Whether ``value`` in ``field`` is damage (a plain whole number is a fine number,
    and any text a fine id or status)."""
    if value is None or value in ("", b""):
        return True
    if field not in NUMBERS:
        return False
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    try:
        number = int(text)
    except ValueError:
        return True
    return field.endswith("_ms") and abs(number) > 10**14


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=GARBAGE)
def test_every_reader_names_the_damaged_field_and_the_listing_keeps_the_rest(
    state_store: JobStore,
    api: AsgiClient,
    cli_on_store: dict[str, str],
    field: str,
    value: str | bytes | None,
) -> None:
    good = state_store.create("https://example.com/good.mp3").job_id
    bad = state_store.create(f"https://user:{SECRET}@example.com/bad.mp3").job_id
    _damage(state_store, bad, field, value)
    if not _broken_value(field, value):
        return  # not damage: a whole number, or any text as an id or status
    with pytest.raises(DamagedRecord) as raised:
        state_store.get_state(bad)
    assert str(raised.value).startswith(f"job {bad}: its stored record is damaged ({field} ")
    listed = [r["job_id"] for r in state_store.list_jobs()]
    assert good in listed
    assert bad not in listed
    # The record, and the page's poll holding a version it no longer matches.
    for headers in ({}, {"if-none-match": 'W/"1.0.0"'}):
        answer = api.get(f"/api/jobs/{bad}", headers=headers)
        assert answer.status_code == 500, answer.text
        assert answer.json()["detail"] == str(raised.value)
    shown = CliRunner(env=cli_on_store).invoke(cli, ["status", bad])
    assert shown.exit_code == 1, shown.output
    assert shown.output.strip().splitlines() == [f"Error: {raised.value}"]
    assert SECRET not in str(raised.value) + shown.output
