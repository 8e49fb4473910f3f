"""A web app serving one :class:`JobService` on a free local port (no pytest in here)."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

from pipeline.service import JobService
from ui.server import AppFactory, RunningServer, start_in_thread

__all__ = ["LiveUi", "start_live_ui"]


@dataclass
class LiveUi:
    """A running web app: ``url`` to open, ``service`` behind it, ``job_url(id)`` per job."""

    server: RunningServer
    service: JobService

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return self.server.url

    def job_url(self, job_id: str) -> str:
        """The page URL that opens one job (``/#/jobs/<id>``)."""
        return f"{self.url}/#/jobs/{quote(job_id, safe='')}"

    def api_url(self, path: str) -> str:
        """An absolute URL for an API path such as ``/api/jobs``."""
        return self.url + path

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (hard timeout, raises if its thread hangs)."""
        self.server.stop(timeout)

    def __enter__(self) -> LiveUi:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_live_ui(service: JobService, app_factory: AppFactory, **server_options: Any) -> LiveUi:
    """Build the app with ``app_factory(service)`` and serve it from a daemon thread."""
    return LiveUi(start_in_thread(service, app_factory=app_factory, **server_options), service)
