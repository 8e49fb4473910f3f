"""An in-process HTTP client on an ASGI app that also runs the app's lifespan around it."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["BASE_URL", "AppClient"]

BASE_URL = "http://127.0.0.1:8000"
"""The server's address as ASGI tells the app (``server``) and the client's ``Host``."""


class AppClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` calling ``app`` without sockets, base URL :data:`BASE_URL`.

    The app sees what ``jobstate serve`` on its default address sees from a browser
    there: a request that arrived on 127.0.0.1:8000 naming ``Host: 127.0.0.1:8000``
    (:mod:`ui.known_host` holds it to the loopback rule); ``base_url`` makes it another.

    ``async with`` runs the app's startup before the first request and its shutdown
    after the last (httpx's transport runs neither), so what the app opens it closes.
    """

    def __init__(self, app: Any, base_url: str = BASE_URL, **transport: Any) -> None:
        asgi = httpx.ASGITransport(app=app, **transport)
        super().__init__(transport=asgi, base_url=base_url)
        self._lifespan = app.router.lifespan_context(app)

    async def __aenter__(self) -> AppClient:
        await self._lifespan.__aenter__()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            await self._lifespan.__aexit__(*exc)
