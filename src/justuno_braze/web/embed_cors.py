"""CORS for the embed's two calls from a store's page: the design config and ingestion.

A store page on another origin runs ``embed.js`` from us; the browser lets the script
read the config (a GET) and post the event (a POST with ``Authorization`` and JSON, so
preceded by a preflight ``OPTIONS``) only when we answer with
``Access-Control-Allow-Origin``. We do so for exactly the origins a design key is
accepted from (``app.state.design_guard``) and only on those two URLs — the management
API stays same-origin. No credentials (cookies) are ever allowed: the key travels in the
``Authorization`` header. A pure ASGI middleware, so the ingestion hot path pays one
regex match per request.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from justuno_braze.web.auth import DesignGuard

EMBED_PATHS = re.compile(r"^/api/v1/accounts/[^/]+/(?:events|designs/[^/]+/embed)$")
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type"
PREFLIGHT_MAX_AGE = "600"


class EmbedCors:
    """Adds CORS headers for allowed origins on :data:`EMBED_PATHS` (and ``Vary: Origin``
    for all); answers allowed preflights (others go on, to a 405)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not EMBED_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin if origin is not None and _allowed(scope, origin) else None
        if allowed and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = Response(status_code=204)
            _add_cors(preflight.headers, allowed)
            preflight.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            preflight.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            preflight.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_cors(MutableHeaders(scope=message), allowed)
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _allowed(scope: Scope, origin: str) -> bool:
    guard: DesignGuard = scope["app"].state.design_guard
    return origin.rstrip("/").lower() in guard.origins


def _add_cors(headers: MutableHeaders, origin: str | None) -> None:
    """``origin`` allowed (None: not); the answer varies by Origin either way, so a shared
    cache never hands one origin's answer (the config is cacheable) to another."""
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
    headers.add_vary_header("Origin")
