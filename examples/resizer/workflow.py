"""The resizer's workflow and the input its jobs take."""

from __future__ import annotations

import re
from typing import Any

from pipeline import ValidationError, Workflow
from pipeline.job_input import JobInput

__all__ = ["MAX_SIDE", "RESIZE", "RESIZE_INPUT"]

MAX_SIDE = 4096
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(png|jpe?g|gif|bmp|webp)$", re.I)


def _image_name(value: Any, field: str) -> str:
    """A file name in the inbox: letters, digits, ``._-`` and an image extension."""
    if not isinstance(value, str) or not _IMAGE_NAME.match(value):
        raise ValidationError(field, f"{value!r} is not an image file name (e.g. cat.png)")
    return value


def _side(value: Any, field: str) -> int:
    """A side length in pixels, 1 to 4096."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
        raise ValidationError(field, f"{value!r} is not a whole number of pixels, 1-{MAX_SIDE}")
    return value


def _sample() -> dict[str, Any]:
    """A sample job's input (it puts a small PNG in the inbox)."""
    from resizer.sample import sample_input

    return sample_input()


RESIZE_INPUT = JobInput(
    required={"image": _image_name, "width": _side, "height": _side}, example=_sample
)
"""``{"image": "cat.png", "width": 64, "height": 48}``: which inbox file, and its new size;
its example (what ``pytest --jobstate-audit`` submits) puts a small PNG in the inbox."""

RESIZE = Workflow.linear(
    "resize",
    initial=("QUEUED", "Waiting for a worker"),
    stages={"RESIZING": "Resizing the image", "UPLOADING": "Uploading the result"},
    done=("DONE", "Resized"),
    error=("FAILED", "Could not resize"),
    input=RESIZE_INPUT,
)
"""QUEUED -> RESIZING -> UPLOADING -> DONE; any running status -> FAILED; FAILED -> QUEUED
only through a retry."""
