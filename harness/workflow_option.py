"""The workflow under test: ``jobstate_workflow`` if set, else the app's tracker's.

A workflow that differs from the tracker's would leave every job stuck in its first
status, so a mismatch is a usage error naming both.
"""

from __future__ import annotations

import pytest

from harness.app_binding import target_workflow
from harness.plugin import get_config
from pipeline.loading import load_object
from pipeline.workflow import Workflow

__all__ = ["check_workflow", "configured_workflow"]

_WORKFLOW = pytest.StashKey[Workflow]()


def configured_workflow(config: pytest.Config) -> Workflow:
    """The session's workflow (loaded once): the option's, else ``jobstate_app``'s tracker's."""
    if _WORKFLOW in config.stash:
        return config.stash[_WORKFLOW]
    cfg = get_config(config)
    target = cfg["workflow"]
    try:
        if target:
            workflow = load_object(target, "jobstate_workflow")
        else:
            workflow = target_workflow(cfg["app"])
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not isinstance(workflow, Workflow):
        raise pytest.UsageError(
            f"jobstate_workflow={target!r} is a {type(workflow).__name__}, "
            "not a pipeline.workflow.Workflow"
        )
    config.stash[_WORKFLOW] = workflow
    return workflow


def check_workflow(config: pytest.Config, workflow: Workflow, tracker: Workflow, app: str) -> None:
    """Fail with both names when the test's workflow is not the app tracker's."""
    if workflow == tracker:
        return
    cfg = get_config(config)
    where = f"jobstate_workflow={cfg['workflow']!r} ({cfg.source('workflow')})"
    if not cfg["workflow"]:
        where = "the jobstate_workflow fixture"
    raise pytest.UsageError(
        f"workflow {workflow.name!r} from {where} is not the workflow {tracker.name!r} "
        f"of the tracker on jobstate_app={app!r}: jobs would never leave their first "
        "status. Leave jobstate_workflow unset (it defaults to the tracker's) or name "
        "the tracker's workflow."
    )
