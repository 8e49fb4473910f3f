"""``GET /healthz``: 200 when Redis answers, 503 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.responses import Response

from ui.calls import StoreTimeout
from ui.context import AppContext, context
from ui.schemas import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(ctx: Annotated[AppContext, Depends(context)]) -> Response:
    """Whether the state store answers within the read deadline."""
    try:
        up = await ctx.read(ctx.reads.healthy)
    except StoreTimeout:
        up = False
    if up:
        return JSONResponse({"status": "ok", "redis": "up"})
    return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
