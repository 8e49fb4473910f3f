"""An in-process HTTP client on an ASGI app that also runs the app's lifespan around it."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["AppClient"]


class AppClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` calling ``app`` without sockets, base URL ``http://ui.test``.

    ``async with`` runs the app's startup before the first request and its shutdown
    after the last (httpx's transport runs neither), so what the app opens it closes.
    """

    def __init__(self, app: Any, **transport: Any) -> None:
        asgi = httpx.ASGITransport(app=app, **transport)
        super().__init__(transport=asgi, base_url="http://ui.test")
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
