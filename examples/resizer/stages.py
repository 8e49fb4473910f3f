"""The two stages: each takes the job context and returns it, as ``Tracker.stage`` expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from pipeline.tracking import StageRun

from resizer import storage

__all__ = ["resize", "upload"]


def resize(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Read the inbox image and write a resized PNG to this stage's work folder."""
    job = ctx["input"]
    with Image.open(storage.inbox() / job["image"]) as image:
        run.progress({"percent": 10, "from": list(image.size)})
        resized = image.convert("RGB").resize((job["width"], job["height"]))
    path = run.workdir / "resized.png"
    resized.save(path, format="PNG")
    run.progress({"percent": 100, "to": list(resized.size)})
    ctx["artifacts"]["resized"] = str(path)
    return ctx


def upload(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Upload the resized image; the job's result says where it went."""
    source = Path(ctx["artifacts"]["resized"])
    dest = storage.put(source, f"{ctx['job_id']}.png")
    with Image.open(dest) as image:
        size = list(image.size)
    ctx["result"] = {"key": dest.name, "bytes": dest.stat().st_size, "size": size}
    return ctx
