"""Every number a user sets has a ceiling Redis and Celery can take, and every door agrees.

A setting Redis cannot take used to be accepted as read and refused by Redis in the middle
of a write script, after its first commands: a job stored without its history or its
index, a job archived under the wrong lifetime. The ceilings are checked where a value is
read (settings, sweeps, waits, the command line, the plugin's options), and a store on
settings at every ceiling writes a job's whole life.
"""

from __future__ import annotations

import math
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import cleanup
from pipeline.cli import Seconds
from pipeline.errors import ValidationError
from pipeline.settings import _CEILINGS, Settings, SettingsError
from pipeline.store import JobStore
from pipeline.validation import MAX_SECONDS, check_seconds
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW

NEAR = st.one_of(
    st.integers(MAX_SECONDS - 2, MAX_SECONDS + 2),
    st.sampled_from([10**16, 10**20, 2**63, 9223372036854775808]),
    st.floats(MAX_SECONDS - 1, MAX_SECONDS + 1),
    st.sampled_from([1e306, 1.8e305]),
)


def _accepted(door: Any, value: Any) -> bool:
    try:
        door(value)
    except (SettingsError, ValidationError, ValueError, click.BadParameter):
        return False
    return True


DOORS = {
    "setting": lambda v: Settings(retention_seconds=math.ceil(v)),  # a whole number
    "setting span": lambda v: Settings(download_timeout_seconds=v),
    "sweep age": lambda v: check_seconds(v, "older_than"),
    "command line": lambda v: Seconds().convert(str(v), None, None),
    "wait": lambda v: wait_until(lambda: True, timeout=v, what="x"),
}


@given(value=NEAR)
def test_every_door_takes_a_number_of_seconds_up_to_the_ceiling_and_no_more(value: Any) -> None:
    within = value <= MAX_SECONDS
    verdicts = {door: _accepted(check, value) for door, check in DOORS.items()}
    assert verdicts == dict.fromkeys(DOORS, within), (value, verdicts)


@pytest.mark.parametrize("name", sorted(_CEILINGS))
def test_each_whole_number_setting_takes_its_ceiling_and_refuses_one_more(name: str) -> None:
    ceiling = _CEILINGS[name]
    extra = {"stage_time_limit": MAX_SECONDS} if name == "stage_soft_time_limit" else {}
    assert getattr(Settings(**{name: ceiling, **extra}), name) == ceiling
    with pytest.raises(SettingsError, match=f"JOBSTATE_{name.upper()}=") as refused:
        Settings(**{name: ceiling + 1})
    assert str(ceiling) in str(refused.value)


def test_from_env_names_the_variable_of_a_setting_past_its_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBSTATE_HISTORY_MAXLEN", "9223372036854775808")
    with pytest.raises(SettingsError, match="JOBSTATE_HISTORY_MAXLEN=9223372036854775808"):
        Settings.from_env()


def test_a_store_at_every_ceiling_writes_a_jobs_whole_life(state_store: JobStore) -> None:
    settings = state_store.settings.with_(
        retention_seconds=_CEILINGS["retention_seconds"],
        archive_ttl_seconds=_CEILINGS["archive_ttl_seconds"],
        history_maxlen=_CEILINGS["history_maxlen"],
        max_stage_runs=_CEILINGS["max_stage_runs"],
    )
    store = JobStore(state_store.client, PRD_WORKFLOW, settings)
    first = store.create("https://example.com/a.mp3")
    store.set_state(first.job_id, "DOWNLOADING", attempt=1, max_runs=settings.max_stage_runs)
    store.fail(first.job_id, "boom", attempt=1, stage="DOWNLOADING")
    second = store.create("https://example.com/b.mp3")
    for status in PRD_WORKFLOW.happy_path()[1:]:
        store.set_state(second.job_id, status, attempt=1)
    # A sweep takes what ended before its cut-off: the next millisecond of Redis' clock.
    archived = wait_until(
        lambda: cleanup.archive_completed(store, older_than=0), timeout=5, what="archive"
    )
    assert archived == [second.job_id]
    assert store.get_archived(second.job_id)["status"] == PRD_WORKFLOW.happy_path()[-1]
    assert [e["status"] for e in store.history(first.job_id)][-1] == PRD_WORKFLOW.error
    purged = wait_until(lambda: cleanup.purge_errors(store, older_than=0), timeout=5, what="purge")
    assert purged == [first.job_id]
