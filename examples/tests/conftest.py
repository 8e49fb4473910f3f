"""The resizer's tests: storage in a temporary folder and images to resize.

Every other fixture (``job_runner``, ``state_recorder``, ``fault_injector``, ``live_ui``,
``page``...) comes from the pytest-jobstate plugin, configured in ``pyproject.toml``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from resizer import storage


@pytest.fixture(scope="session", autouse=True)
def storage_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Session: ``RESIZER_STORAGE`` is a temporary folder (worker processes inherit it)."""
    root = tmp_path_factory.mktemp("storage")
    before = os.environ.get("RESIZER_STORAGE")
    os.environ["RESIZER_STORAGE"] = str(root)
    yield root
    if before is None:
        os.environ.pop("RESIZER_STORAGE", None)
    else:
        os.environ["RESIZER_STORAGE"] = before


@pytest.fixture
def image(storage_root: Path) -> str:
    """Function: the name of a new 120x80 PNG in the inbox."""
    name = f"photo-{uuid.uuid4().hex[:8]}.png"
    Image.new("RGB", (120, 80), (200, 40, 40)).save(storage.inbox() / name)
    return name


def _uploaded_size(job_id: str) -> tuple[int, int]:
    with Image.open(storage.outbox() / f"{job_id}.png") as uploaded:
        width, height = uploaded.size
    return width, height


@pytest.fixture
def uploaded_size() -> Callable[[str], tuple[int, int]]:
    """Function: ``uploaded_size(job_id)``, the (width, height) of what the job uploaded."""
    return _uploaded_size
