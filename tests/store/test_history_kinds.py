"""History kinds are one enum: the store writes its values, the scripts name their arguments."""

from __future__ import annotations

import re

import pytest

from pipeline.history import HistoryKind, js_module, lua_constants
from pipeline.lua import OPS, script_source
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW, Workflow

URL = "https://media.example.com/talks/keynote.mp3"


def test_stored_values_never_change() -> None:
    # Redis holds these strings in every job's history: renaming one loses old entries.
    assert {k.name: k.value for k in HistoryKind} == {
        "CREATE": "create",
        "TRANSITION": "transition",
        "PROGRESS": "progress",
        "REDELIVERED": "redelivered",
        "GAVE_UP": "redelivery",
        "DUPLICATE": "duplicate",
        "RETRY": "retry",
        "STALE": "stale",
    }


def test_every_kind_the_store_writes_is_a_member(state_store: JobStore, wf: Workflow) -> None:
    job = state_store.create(URL).job_id
    stage = wf.stages[0]
    state_store.set_state(job, stage, max_runs=1)
    state_store.progress(job, {"n": 1})
    state_store.set_state(job, stage, max_runs=1)  # past the cap: gives up
    state_store.retry(job)
    kinds = [e["kind"] for e in state_store.history(job)]
    assert kinds == [
        HistoryKind.CREATE,
        HistoryKind.TRANSITION,
        HistoryKind.PROGRESS,
        HistoryKind.GAVE_UP,
        HistoryKind.RETRY,
    ]


@pytest.mark.parametrize("op", OPS)
def test_scripts_use_the_generated_kinds(op: str) -> None:
    source = script_source(PRD_WORKFLOW, op)
    assert lua_constants() in source
    assert not re.search(r"history\([^)]*'[a-z]+'", source), "a kind spelled by hand"


@pytest.mark.parametrize("op", OPS)
def test_scripts_name_keys_and_argv_in_locals_at_the_top(op: str) -> None:
    source = script_source(PRD_WORKFLOW, op)
    head, _, body = source.partition("-- The workflow, compiled in.")
    assert f"-- {op}: " in head, "the contract opens the script"
    assert "ARGV[4]" in head
    assert not re.search(r"\b(KEYS|ARGV)\[", body), f"{op} reads KEYS/ARGV by position"


def test_js_module_exports_every_kind() -> None:
    text = js_module()
    for kind in HistoryKind:
        assert f'"{kind.name}": "{kind.value}"' in text
    assert text.startswith("// Generated from pipeline/history.py")


def test_legal_path_takes_members_and_strings() -> None:
    wf = PRD_WORKFLOW
    path = [(HistoryKind.CREATE, wf.initial), ("transition", wf.stages[0])]
    assert wf.is_legal_path(path)
    assert not wf.is_legal_path([("created", wf.initial)])
