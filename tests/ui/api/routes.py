"""The app's doors, read from the app itself, so a route added later is held to the rules
the tests built on them check."""

from __future__ import annotations

import re

from fastapi import FastAPI

from ui.pages import STATIC_DIR, pages_router

__all__ = ["every_path", "fill", "gets", "operations"]


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every operation of the app's OpenAPI document."""
    return sorted(
        (method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops
    )


def gets(app: FastAPI) -> list[str]:
    """Path templates of every ``GET`` the app serves: its OpenAPI document's, the pages',
    the document itself and the static files."""
    documented = [path for method, path in operations(app) if method == "GET"]
    pages = [r.path for r in pages_router().routes if "GET" in getattr(r, "methods", ())]
    files = [f"/static/{p.name}" for p in sorted(STATIC_DIR.iterdir()) if p.is_file()]
    return sorted({*documented, *pages, app.openapi_url or "", *files} - {""})


def every_path(app: FastAPI) -> list[str]:
    """Path templates of every route, whatever its methods."""
    return sorted({*(path for _, path in operations(app)), *gets(app)})


def fill(template: str, job_id: str) -> str:
    """``template`` with every path parameter set to ``job_id``."""
    return re.sub(r"\{[^}]+\}", job_id, template)
