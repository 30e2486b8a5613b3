"""Errors of UI pages as HTML pages; the JSON API's answers do not change.

:func:`install` wraps every exception handler already on the app (``web/errors.py``'s):
for a request outside ``/api/`` the JSON answer's status and ``message`` are shown on
``session/error.html`` (404 — an unknown page or another account's object — and 403 have
their own wording); under ``/api/`` the original JSON answer is returned untouched. It
also answers :class:`~justuno_braze.web.ui.session.SignInRequired` with its 303.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import WebSocketRequestValidationError

from justuno_braze.errors import StoreError
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.session import SignInRequired, UiSession, current_session

API_PREFIX = "/api/"
KEPT_HEADERS = ("retry-after",)

Handler = Callable[[Request, Any], Awaitable[Response]]


def is_ui_request(request: Request) -> bool:
    """True for the UI's pages: everything served here that is not the JSON API."""
    return not request.url.path.startswith(API_PREFIX)


def install(app: FastAPI) -> None:
    """Wrap the app's handlers (call after ``web.errors.install``)."""
    for exc_class, handler in list(app.exception_handlers.items()):
        if exc_class is WebSocketRequestValidationError:  # no HTML over a websocket
            continue
        app.add_exception_handler(exc_class, _html_for_ui(handler))  # type: ignore[arg-type]

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> Response:
        return see_other(exc.location)


def _html_for_ui(handler: Handler) -> Handler:
    async def handle(request: Request, exc: Any) -> Response:
        answer = await handler(request, exc)
        if not is_ui_request(request) or answer.media_type != "application/json":
            return answer
        return await error_page(request, answer.status_code, _message(answer), answer)

    return handle


async def error_page(
    request: Request, status: int, message: str, answer: Response | None = None
) -> Response:
    """``session/error.html`` for ``status``: with the nav when someone is signed in."""
    ui: UiSession | None
    try:
        ui = await current_session(request)
    except StoreError:  # the error may be the database itself: show the page without it
        ui = None
    response = page(
        request, "session/error.html", ui, status_code=status, status=status, message=message
    )
    if answer is not None:
        for name in KEPT_HEADERS:
            if name in answer.headers:
                response.headers[name] = answer.headers[name]
    return response


def _message(answer: Response) -> str:
    try:
        body = json.loads(bytes(answer.body))
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""
