"""Errors as HTTP answers: every refusal is JSON with a ``message`` naming the problem.

- ``InputError`` → 422 ``{"message", "field"}``
- ``WorkflowError`` → 422 ``{"message", "problems": [...]}``
- ``NotFound`` → 404 ``{"message"}`` (also what another account's resources answer)
- ``StoreError`` → 503 ``{"message"}`` (the database is unavailable)
- ``DeliveryError`` → 502 ``{"message"}`` (Braze could not be reached or refused)
- request validation (FastAPI) → 422 ``{"message", "field", "problems"}``
- ``HTTPException`` → its status, ``{"message"}``
- ``OverflowError`` (an integer too large for the database) → 422 ``{"message"}``

Routers list :data:`ERROR_RESPONSES` in their ``responses=`` so the OpenAPI names them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from justuno_braze.errors import DeliveryError, InputError, StoreError, WorkflowError
from justuno_braze.services.apps import ConnectionRefused

log = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "not found"


class ErrorBody(BaseModel):
    """Every error answer: ``message`` always, ``field`` / ``problems`` when known."""

    message: str
    field: str | None = None
    problems: list[str] | None = None


class NotFound(Exception):
    """The resource does not exist *for this account* → 404 (never reveals existence)."""

    def __init__(self, what: str = NOT_FOUND_MESSAGE) -> None:
        self.message = what
        super().__init__(what)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token"},
    404: {"model": ErrorBody, "description": "No such resource in this account"},
    422: {"model": ErrorBody, "description": "Invalid input; the message names the problem"},
    503: {"model": ErrorBody, "description": "The database is unavailable"},
}


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return error_response(422, str(exc), field=exc.field)

    @app.exception_handler(ConnectionRefused)
    async def _refused(_: Request, exc: ConnectionRefused) -> JSONResponse:
        # Braze did not accept a connection: say why (invalid_key, unreachable, …)
        return error_response(422, exc.message, field=exc.field, reason=exc.reason)

    @app.exception_handler(WorkflowError)
    async def _workflow(_: Request, exc: WorkflowError) -> JSONResponse:
        return error_response(422, str(exc), problems=exc.problems)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, exc.message)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return error_response(503, f"the database is unavailable: {exc}")

    @app.exception_handler(DeliveryError)
    async def _delivery(_: Request, exc: DeliveryError) -> JSONResponse:
        return error_response(502, str(exc))

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # an integer beyond the database's 64 bits (routes should bound their ids)
        return error_response(422, "a number in the request is out of range")

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_describe(e) for e in exc.errors()]
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return error_response(
            422, problems[0] if problems else "invalid request", field=field, problems=problems
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response


def _describe(error: Any) -> str:
    loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    msg = str(error.get("msg", "invalid"))
    return f"{loc}: {msg}" if loc else msg
