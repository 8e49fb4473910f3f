"""The resizer's Celery app: a plain Celery app whose stages a ``Tracker`` keeps honest.

Run a worker with ``celery -A resizer.app worker`` (settings from ``JOBSTATE_*``
variables, e.g. ``JOBSTATE_REDIS_URL``).
"""

from __future__ import annotations

from celery import Celery
from pipeline import Settings
from pipeline.celery_app import celery_config
from pipeline.tracking import Tracker

from resizer import stages
from resizer.workflow import RESIZE

__all__ = ["app", "tracker"]

app = Celery("resizer")
app.conf.update(celery_config(Settings.from_env()))
tracker = Tracker(app, RESIZE)
tracker.stage("RESIZING", name="resizer.resize")(stages.resize)
tracker.stage("UPLOADING", name="resizer.upload")(stages.upload)
