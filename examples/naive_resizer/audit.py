"""How ``pytest --jobstate-audit`` drives and reads the naive resizer: its adapter."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.adapter import JobReading, StateAdapter
from pipeline import Workflow

from naive_resizer import app, store, web
from resizer.workflow import RESIZE_INPUT

__all__ = ["NAIVE", "NaiveAdapter"]

NAIVE = Workflow.linear(
    "naive-resize",
    initial=("QUEUED", "Waiting for a worker"),
    stages={"RESIZING": "Resizing the image", "UPLOADING": "Uploading the result"},
    done=("DONE", "Resized"),
    error=("FAILED", "Could not resize"),
    input=RESIZE_INPUT,
)
"""The statuses the naive resizer writes, as a workflow."""


class NaiveAdapter(StateAdapter):
    """Submit through the app's own ``submit``; read its record and its API."""

    workflow = NAIVE
    stage_tasks: ClassVar = {"RESIZING": "naive.resize", "UPLOADING": "naive.upload"}

    def submit(self, job_input: Any) -> str:
        """Start a job as the app's users do."""
        return app.submit(job_input)

    def read(self, job_id: str) -> JobReading | None:
        """The job's record in Redis."""
        record = store.load(self.app, job_id)
        if not record:
            return None
        return JobReading(record["status"], record.get("error"), record.get("result"))

    def read_api(self, job_id: str) -> JobReading | None:
        """What the app's API answers for the job."""
        view = web.job_view(job_id)
        return JobReading(view["status"], view["error"], view["result"]) if view["status"] else None
