"""Play one cell: plant its fault, judge what happened, time it (no pytest here)."""

from __future__ import annotations

import time

from harness.testing.audit.report.card import Cell
from harness.testing.audit.scenarios import CellRun, NotPlantable, fault

__all__ = ["play_cell"]


def play_cell(run: CellRun, fault_id: str) -> Cell:
    """Plant ``fault_id`` in ``run`` and return the cell: judged, ``n/a`` when the fault
    cannot be planted here, red when planting could not finish."""
    started = time.monotonic()
    try:
        job_id = fault(fault_id).plant(run)
    except NotPlantable as exc:
        cell = Cell(run.stage, fault_id, "n/a", [str(exc)])
    except Exception as exc:  # a stuck job or a failed step: the cell says so
        cell = run.unfinished(fault_id, exc)
    else:
        cell = run.judge(fault_id, job_id)
    cell.seconds = round(time.monotonic() - started, 3)
    cell.test = (
        f"pytest --jobstate-audit --jobstate-audit-stages={run.stage} "
        f"--jobstate-audit-faults={fault_id}"
    )
    return cell
