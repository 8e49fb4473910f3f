"""The naive resizer's Celery app: ``resize`` then ``upload``, each keeping the status.

Its bugs are the ones teams meet when their workers go multi-process. They are kept on
purpose; ``pytest --jobstate-audit`` finds each (``tests/test_audits.py``):

1. Every task reads the job's whole record, changes it in Python and writes it back, so
   two runs of a stage (a message delivered twice) each write their own copy: a later
   write puts an earlier status back over a later one.
2. ``upload`` catches every exception and logs it: its errors never reach the state,
   and the job stays in UPLOADING for ever.
3. ``resize`` hands the job to ``upload`` first and writes UPLOADING (and where the
   resized image is) after: a worker lost in between leaves the job in RESIZING, and
   ``upload`` may run before the record says where its file is.
4. The web API (:mod:`naive_resizer.web`) caches each job for five seconds: it shows
   something other than the stored truth.

Run a worker with ``celery -A naive_resizer.app worker`` (``NAIVE_REDIS_URL`` says where
Redis is).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery
from PIL import Image

from naive_resizer import store
from resizer import storage

__all__ = ["app", "resize", "submit", "upload"]

log = logging.getLogger(__name__)

REDIS_URL = os.environ.get("NAIVE_REDIS_URL", "redis://localhost:6379/0")
UPLOAD_SECONDS = 0.05
"""The object store's round trip, which the outbox folder stands in for."""

app = Celery("naive_resizer", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


def submit(job_input: dict[str, Any]) -> str:
    """Start a job: its record says QUEUED, then ``resize`` is sent."""
    job_id = uuid.uuid4().hex
    store.save(app, job_id, {"status": "QUEUED", "input": job_input})
    resize.delay(job_id)
    return job_id


@app.task(name="naive.resize")
def resize(job_id: str) -> str:
    """Resize the inbox image into the outbox's work folder, then hand over to upload."""
    record = store.load(app, job_id)
    record["status"] = "RESIZING"
    store.save(app, job_id, record)
    job = record["input"]
    try:
        with Image.open(storage.inbox() / job["image"]) as image:
            resized = image.convert("RGB").resize((job["width"], job["height"]))
        path = storage.outbox() / f"{job_id}-resized.png"
        resized.save(path, format="PNG")
    except Exception as exc:
        record["status"] = "FAILED"
        record["error"] = str(exc)
        store.save(app, job_id, record)
        raise
    upload.delay(job_id)  # bug 3: the hand-off comes before the write below
    record["status"] = "UPLOADING"
    record["resized"] = str(path)
    store.save(app, job_id, record)
    return job_id


@app.task(name="naive.upload")
def upload(job_id: str) -> str:
    """Upload the resized image; the record says DONE with where it went."""
    try:
        record = store.load(app, job_id)
        dest = storage.put(Path(record["resized"]), f"{job_id}.png")
        time.sleep(UPLOAD_SECONDS)  # the round trip a real object store takes
        with Image.open(dest) as image:
            size = list(image.size)
        record["status"] = "DONE"
        record["result"] = {"key": dest.name, "bytes": dest.stat().st_size, "size": size}
        store.save(app, job_id, record)
    except Exception:
        log.exception("upload of %s failed", job_id)  # bug 2: the error stops here
    return job_id
