"""What the audit runs: its options, the stages and faults chosen, the app's settings.

``--jobstate-audit`` turns a pytest run into the audit; ``--jobstate-audit-stages`` and
``--jobstate-audit-faults`` (comma-separated) narrow it. Unknown names are a usage error
that lists the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.audit.card import Finding
from harness.audit.scenarios import fault_ids
from harness.config import get_config
from harness.testing.workers.app_binding import build_app, load_target, target_tracker
from pipeline.settings import Settings
from pipeline.workflow import Workflow

__all__ = [
    "CELL_PROPERTY",
    "FINDINGS_PROPERTY",
    "MACHINE_PROPERTY",
    "AuditSelection",
    "add_audit_options",
    "audit_selection",
    "audit_workflow",
    "settings_findings",
]

CELL_PROPERTY = "jobstate_audit_cell"
FINDINGS_PROPERTY = "jobstate_audit_findings"
MACHINE_PROPERTY = "jobstate_audit_machine"
_SELECTION = pytest.StashKey["AuditSelection"]()


def add_audit_options(parser: pytest.Parser) -> None:
    """Register ``--jobstate-audit`` and the flags that narrow it."""
    group = parser.getgroup("jobstate")
    group.addoption(
        "--jobstate-audit",
        action="store_true",
        default=False,
        help="audit the app (jobstate_app): every stage through every fault on real "
        "workers, its Celery settings and a state machine; writes a report card to "
        "test-results/",
    )
    group.addoption(
        "--jobstate-audit-stages",
        default="",
        metavar="S1,S2",
        help="audit only these stages (default: every stage of the workflow)",
    )
    group.addoption(
        "--jobstate-audit-faults",
        default="",
        metavar="F1,F2",
        help=f"audit only these faults (default: all of {', '.join(fault_ids())})",
    )


@dataclass(frozen=True)
class AuditSelection:
    """The app under audit, its workflow, and the stages and faults chosen."""

    target: str
    workflow: Workflow
    stages: tuple[str, ...]
    faults: tuple[str, ...]


def _chosen(option: str, known: list[str], what: str, flag: str) -> tuple[str, ...]:
    wanted = [name.strip() for name in option.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise pytest.UsageError(
            f"{flag}: unknown {what} {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return tuple(name for name in known if not wanted or name in wanted)


def audit_workflow(target: str) -> Workflow:
    """The workflow of the app ``target`` names (its tracker's)."""
    obj = load_target(target)
    app, owned = build_app(target, obj, Settings.from_env())
    tracker = target_tracker(target, app)
    workflow = tracker.workflow
    if owned:
        tracker.close()
        app.close()
    return workflow


def audit_selection(config: pytest.Config) -> AuditSelection:
    """The run's :class:`AuditSelection` (resolved once; a bad name is a usage error)."""
    if _SELECTION not in config.stash:
        target = get_config(config)["app"]
        try:
            workflow = audit_workflow(target)
        except (ImportError, ValueError, AttributeError) as exc:
            raise pytest.UsageError(f"jobstate audit: {exc}") from None
        stages = _chosen(
            config.getoption("jobstate_audit_stages"),
            list(workflow.stages),
            "stages",
            "--jobstate-audit-stages",
        )
        faults = _chosen(
            config.getoption("jobstate_audit_faults"),
            fault_ids(),
            "faults",
            "--jobstate-audit-faults",
        )
        config.stash[_SELECTION] = AuditSelection(target, workflow, stages, faults)
    return config.stash[_SELECTION]


def settings_findings(target: str) -> list[Finding]:
    """Check the Celery settings of the app ``target`` names, as its workers load it."""
    from harness.audit.settings_check import check_settings, stage_tasks_of

    obj = load_target(target)
    app, owned = build_app(target, obj, Settings.from_env())
    tracker = target_tracker(target, app)
    try:
        return check_settings(app, tracker.workflow, stage_tasks_of(app))
    finally:
        if owned:
            tracker.close()
            app.close()
