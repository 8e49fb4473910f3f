"""The resizer's web app: the jobstate JSON API plus a page of its own at ``/resize/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pipeline.service import JobService
from starlette.staticfiles import StaticFiles
from ui.app import create_app

__all__ = ["create_web_app"]

STATIC = Path(__file__).parent / "static"


def create_web_app(service: JobService) -> FastAPI:
    """The API (``POST /api/jobs`` takes the resize input) and the resize page."""
    app = create_app(service)
    app.mount("/resize", StaticFiles(directory=STATIC, html=True), name="resize")
    return app
