"""Fixtures for the web app's fast tests: the app on the test's store, an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pipeline.service import JobService
from pipeline.store import JobStore
from tests.asgi import AppClient
from ui.app import create_app

Contexts = list[dict[str, Any]]


@pytest.fixture
def anyio_backend() -> str:
    """Function: run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def enqueued() -> Contexts:
    """Function: every job context the service was asked to enqueue, in order."""
    return []


@pytest.fixture
def service(state_store: JobStore, enqueued: Contexts) -> JobService:
    """Function: a JobService on the test's store whose enqueue only records."""
    return JobService(state_store, enqueued.append)


@pytest.fixture
def app(service: JobService) -> FastAPI:
    """Function: the web app on ``service``."""
    return create_app(service)


async def open_client(app: Any) -> AppClient:
    """An httpx client that calls ``app`` in-process (no socket), running its lifespan."""
    return AppClient(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Function: an httpx client on ``app`` through the ASGI transport; closed at teardown."""
    async with await open_client(app) as opened:
        yield opened
