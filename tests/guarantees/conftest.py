"""Fixtures for the guarantee tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Function: run async tests on asyncio only (the web app's loop)."""
    return "asyncio"
