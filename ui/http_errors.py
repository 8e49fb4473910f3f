"""Map the store's typed errors to HTTP answers with a JSON ``{"detail": ...}`` body."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from pipeline.errors import (
    DamagedRecord,
    EnqueueFailed,
    InvalidTransition,
    JobExists,
    JobNotFound,
    StaleAttempt,
    StoreUnavailable,
    ValidationError,
    printable,
)
from ui.allow import http_error
from ui.calls import StoreTimeout

__all__ = ["handler_for", "install_error_handlers", "problem"]

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]

UNAVAILABLE = "state store unavailable: Redis is not answering, try again shortly"


def problem(status: int, detail: str, field: str | None = None, **headers: str) -> JSONResponse:
    """A JSON error answer: ``{"detail": ..., "field": ...}``, each printable and redacted
    whatever the request held (a raw key may name the field)."""
    body: dict[str, str] = {"detail": printable(detail, 2000)}
    if field:
        body["field"] = printable(field, 200)
    return JSONResponse(body, status_code=status, headers=headers or None)


def _public_field(field: str) -> str:
    return field.removeprefix("metadata.")


async def _invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    field = _public_field(exc.field)
    status = 400 if field == "job_id" else 422
    return problem(status, f"{field}: {exc.problem}", field)


def _body_itself(first: Mapping[str, Any]) -> Response | None:
    """The answer to a body that is no JSON object at all (not one of its fields): 400,
    saying what the body must be, as the API's own documentation promises."""
    loc = tuple(first.get("loc", ()))
    if not loc or loc[0] != "body":
        return None
    kind = first.get("type")
    if kind == "json_invalid":
        at = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        why = printable(str(first.get("ctx", {}).get("error", "")), 80)
        return problem(400, f"the body is not JSON{at}" + (f": {why}" if why else ""))
    if loc == ("body",) and kind == "missing":
        return problem(400, f"the body is empty: {JSON_OBJECT}")
    if loc == ("body",) and kind in ("dict_type", "model_attributes_type"):
        return problem(400, f"the body is not a JSON object: {JSON_OBJECT}")
    return None


JSON_OBJECT = "send a JSON object with Content-Type: application/json"


async def _bad_body(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    itself = _body_itself(first)
    if itself is not None:
        return itself
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    detail = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg"))
    return problem(422, detail, field)


async def _not_found(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, JobNotFound)
    return problem(404, str(exc))


async def _conflict(_: Request, exc: Exception) -> Response:
    return problem(409, str(exc))


async def _not_queued(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, EnqueueFailed)
    # The broker's own text may name its hosts: it is in the job's error, redacted.
    log.warning("job %s stored but its work could not be queued", exc.job_id)
    return problem(502, f"job {exc.job_id} was stored but its work could not be queued")


async def _damaged(_: Request, exc: Exception) -> Response:
    # The store's data, not the request, is at fault; the text names the job and field.
    return problem(500, str(exc))


async def _unavailable(_: Request, exc: Exception) -> Response:
    # The exception text may name hosts; the answer says only what the user can act on.
    return problem(503, UNAVAILABLE, None, **{"Retry-After": "1"})


HANDLERS: dict[type[Exception], Handler] = {
    ValidationError: _invalid,
    RequestValidationError: _bad_body,
    JobNotFound: _not_found,
    DamagedRecord: _damaged,
    InvalidTransition: _conflict,
    StaleAttempt: _conflict,
    JobExists: _conflict,
    EnqueueFailed: _not_queued,
    StoreUnavailable: _unavailable,
    StoreTimeout: _unavailable,
    redis.ConnectionError: _unavailable,
    redis.TimeoutError: _unavailable,
    HTTPException: http_error,  # a 405 names every method of the path
}


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping above on ``app``."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)


def handler_for(exc: Exception) -> Handler | None:
    """The handler :func:`install_error_handlers` registers for ``exc``'s type (or the
    nearest base), as the app would pick it; ``None`` when there is none."""
    for kind in type(exc).__mro__:
        handler = HANDLERS.get(kind)
        if handler is not None:
            return handler
    return None
