"""Save full-page screenshots and keep copies where a person finds them after the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.testing.browser.ui_view import UiView

__all__ = ["PNG_MAGIC", "keep", "shoot"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def shoot(view: UiView, folder: Path, name: str) -> Path:
    """A full-page PNG of the page as it is now, at ``folder/name.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    view.page.screenshot(path=str(path), full_page=True)
    return path


def keep(shots: list[Path], rootdir: Path) -> None:
    """Check each shot is a real picture and copy it to ``<rootdir>/screenshots``.

    Shots are taken in the test's own temporary folder (pytest-playwright empties its
    ``--output`` folder whenever a run starts, even another run's); the copies stay after
    every tier has run.
    """
    folder = rootdir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        assert shot.read_bytes().startswith(PNG_MAGIC)
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"
        shutil.copy(shot, folder / shot.name)
