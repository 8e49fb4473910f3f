"""The app each process of ``jobstate serve --workers N`` builds for itself.

uvicorn's supervisor starts N processes that share one listening socket; each imports
:func:`app_from_env` and builds its own service, Redis clients and asyncio read pool from
the ``JOBSTATE_*`` environment (``JOBSTATE_APP`` names the Celery app, if not the media
pipeline's).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from pipeline.runtime import runtime_for
from ui.app import create_app

__all__ = ["APP_FACTORY", "app_from_env"]

APP_FACTORY = "ui.workers:app_from_env"
"""The import string uvicorn's worker processes load."""


def app_from_env() -> FastAPI:
    """The web app on a service built from this process's environment (the process
    serves only it: what it built is moved out of the collector's sight)."""
    from ui.server import settle_heap

    app = create_app(runtime_for(os.environ.get("JOBSTATE_APP") or None).service)
    settle_heap()
    return app
