"""Job inputs drawn from a workflow's declaration, and the state machine on a non-URL input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.machines import StoreFactory, run_machine
from harness.strategies import job_inputs
from pipeline.job_input import JobInput
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.pipeline.input_apps import TALLY
from tests.property.test_state_machine import QUICK

SHAPES = JobInput(
    required={"name": str, "n": int},
    optional={"ratio": float, "flag": bool, "items": list, "extra": dict, "maybe": (int, str)},
)
TALLY_INPUTS = job_inputs(TALLY, numbers=st.lists(st.integers(-1000, 1000), max_size=5))


@given(data=job_inputs(SHAPES))
def test_drawn_inputs_pass_their_own_declaration(data: dict[str, Any]) -> None:
    assert SHAPES.validate(data) == data
    assert {"name", "n"} <= set(data)


@given(data=job_inputs(PRD_WORKFLOW))
def test_drawn_media_inputs_are_urls_the_store_accepts(data: dict[str, Any]) -> None:
    assert PRD_WORKFLOW.input.validate(data) == data
    assert data["url"].startswith(("http://", "https://"))


def test_a_key_with_its_own_check_asks_for_a_strategy() -> None:
    spec = JobInput(required={"when": lambda value, field: value})
    with pytest.raises(ValueError, match=r"pass a strategy for it, job_inputs\(workflow, when="):
        job_inputs(spec)


def test_the_machine_holds_on_a_workflow_whose_input_is_not_a_url(
    store_factory: StoreFactory,
) -> None:
    run_machine(TALLY, store_factory, inputs=TALLY_INPUTS)


def test_the_machine_catches_a_store_that_loses_the_input(store_factory: StoreFactory) -> None:
    class Forgetful(JobStore):
        def check_input(self, job_input: Any, space_id: str | None = None) -> dict[str, Any]:
            checked = super().check_input(job_input, space_id)
            return {**checked, "numbers": checked["numbers"][:1]}

    def forgetful(wf: Any) -> JobStore:
        store = store_factory(wf)
        return Forgetful(store.client, wf, store.settings)

    with pytest.raises(AssertionError, match=r"stored .* != model"):
        run_machine(TALLY, forgetful, inputs=TALLY_INPUTS, settings=QUICK)
