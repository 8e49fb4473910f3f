"""Helpers for pipeline tests: the three Celery modes as parameters."""

from __future__ import annotations

import pytest

MODES = [
    pytest.param("eager", id="eager", marks=pytest.mark.jobstate_celery("eager")),
    pytest.param(
        "thread",
        id="thread",
        marks=[
            pytest.mark.integration,
            pytest.mark.jobstate_celery("thread"),
            pytest.mark.jobstate_redis("server"),
        ],
    ),
    pytest.param(
        "prefork",
        id="prefork",
        marks=[
            pytest.mark.prefork,
            pytest.mark.jobstate_celery("prefork"),
            pytest.mark.jobstate_redis("server"),
        ],
    ),
]
"""Use with ``@pytest.mark.parametrize("mode", MODES)``: each mode runs in its own tier."""

HAPPY = [
    "INIT",
    "DOWNLOADING",
    "TRANSCRIBING",
    "GENERATING_QUOTES",
    "GENERATING_SUMMARY",
    "COMPLETE",
]
STAGES = HAPPY[1:-1]
