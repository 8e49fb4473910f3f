"""Where images come from and go to: ``$RESIZER_STORAGE/inbox`` and ``.../outbox``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["inbox", "outbox", "put"]


def _root() -> Path:
    return Path(os.environ.get("RESIZER_STORAGE") or Path(tempfile.gettempdir()) / "resizer")


def inbox() -> Path:
    """The folder new images are read from (created on first use)."""
    path = _root() / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def outbox() -> Path:
    """The folder resized images are uploaded to (created on first use)."""
    path = _root() / "outbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def put(source: Path, name: str) -> Path:
    """Upload ``source`` to the outbox as ``name``: whole or not at all, and idempotent."""
    dest = outbox() / name
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(source, part)
    part.replace(dest)
    return dest
