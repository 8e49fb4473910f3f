"""A sample job for the resizer: a small PNG put in the inbox, and the input naming it."""

from __future__ import annotations

import uuid
from typing import Any

from PIL import Image

from resizer import storage

__all__ = ["sample_input"]


def sample_input() -> dict[str, Any]:
    """A new 120x80 PNG in the inbox and the input that resizes it to 64x48."""
    name = f"sample-{uuid.uuid4().hex[:8]}.png"
    Image.new("RGB", (120, 80), (40, 120, 200)).save(storage.inbox() / name)
    return {"image": name, "width": 64, "height": 48}
