"""Bundled media: a few seconds of synthesised English speech for demos and tests.

``podcast-sample.ogg`` (Opus, 16 kHz mono) says :data:`SAMPLE_TEXT`. Regenerate it with
``python -m pipeline.assets.make_sample`` (needs the ``flite`` program: ``apt-get install flite``).
"""

from __future__ import annotations

import atexit
import functools
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

__all__ = ["SAMPLE_NAME", "SAMPLE_TEXT", "SAMPLE_WORDS", "sample_path"]

SAMPLE_NAME = "podcast-sample.ogg"
SAMPLE_TEXT = (
    "Hello and welcome to the podcast. Today we talk about state machines and how they keep "
    "every job honest. When a worker crashes, the state machine still tells the truth."
)
SAMPLE_WORDS = frozenset({"welcome", "today", "state", "machines", "worker", "honest", "truth"})
"""Words of :data:`SAMPLE_TEXT` that the default recogniser is expected to hear."""

_files = ExitStack()
atexit.register(_files.close)


@functools.cache
def sample_path() -> Path:
    """Path of the bundled speech sample on the file system (extracted once if zipped)."""
    resource = resources.files(__name__).joinpath(SAMPLE_NAME)
    return _files.enter_context(resources.as_file(resource))
