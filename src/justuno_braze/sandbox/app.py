"""The sandbox ASGI app: routing, auth, size limit, JSON errors, faults, rate-limit headers.

A raw ASGI callable (no framework in the hot path). Order of checks for a request:
unknown path → 404, wrong method → 405, missing/unknown key → 401, key without the
endpoint's permission → 403, rate limit → 429, injected fault, body over 4 MB → 413,
malformed JSON → 400, then the endpoint. Every answer is JSON with a ``message`` and, for
a served path, ``X-RateLimit-Limit/Remaining/Reset`` (``Reset`` in epoch seconds).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from justuno_braze.sandbox.catalog import AttributeCatalog
from justuno_braze.sandbox.email_status import EmailStatus
from justuno_braze.sandbox.identity import Identity
from justuno_braze.sandbox.options import MAX_BODY_BYTES, SandboxOptions
from justuno_braze.sandbox.ratelimit import FAMILY_OF_PATH, RateDecision, RateLimiter
from justuno_braze.sandbox.subscriptions import Subscriptions
from justuno_braze.sandbox.track import Tracker
from justuno_braze.sandbox.users import UserStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answer = tuple[int, dict[str, Any]]

_JSON = (b"content-type", b"application/json")
_FAULT_MESSAGES = {
    429: "Rate Limited",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
SAVE_INTERVAL = 1.0


class _TooLarge(Exception):
    pass


class SandboxApp:
    """The Braze sandbox as an ASGI app; ``users`` is the live user store."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        clock = options.clock
        self.users = UserStore(clock)
        if options.state is not None:
            self.users.load(options.state)
        groups = dict(options.subscription_groups)
        self.catalog = AttributeCatalog(options.custom_attributes, options.array_max_length)
        self.tracker = Tracker(self.users, self.catalog, groups, clock, options.combined_cap)
        self.identity = Identity(self.users)
        self.subscriptions = Subscriptions(self.users, groups)
        self.email_status = EmailStatus(self.users)
        self.limiter = RateLimiter(options.limits(), clock)
        self._random = random.Random(options.seed)
        self._last_save = clock()
        self._dirty = False
        # (method, path) -> (permission, handler, mutates)
        self.routes: dict[tuple[str, str], tuple[str, Callable[[Any], Answer], bool]] = {
            ("POST", "/users/track"): ("users.track", self.tracker.track, True),
            ("POST", "/users/export/ids"): ("users.export.ids", self.identity.export_ids, False),
            ("POST", "/users/alias/new"): ("users.alias.new", self.identity.alias_new, True),
            ("POST", "/users/identify"): ("users.identify", self.identity.identify, True),
            ("POST", "/users/delete"): ("users.delete", self.identity.delete, True),
            ("POST", "/subscription/status/set"): (
                "subscription.status.set", self.subscriptions.set_v1, True),
            ("POST", "/v2/subscription/status/set"): (
                "subscription.status.set", self.subscriptions.set_v2, True),
            ("GET", "/subscription/status/get"): (
                "subscription.status.get", self.subscriptions.status_get, False),
            ("GET", "/subscription/user/status"): (
                "subscription.groups.get", self.subscriptions.user_status, False),
            ("POST", "/email/status"): ("email.status", self.email_status.set_status, True),
            ("GET", "/email/unsubscribes"): (
                "email.unsubscribe", self.email_status.unsubscribes, False),
            ("GET", "/custom_attributes"): (
                "custom_attributes.get", self._custom_attributes_route, False),
        }  # fmt: skip
        self._paths = {path for _, path in self.routes}

    # -- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.save()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def save(self) -> None:
        """Write the user store to ``--state`` (no-op without one)."""
        if self.options.state is not None:
            self.users.save(self.options.state)
            self._dirty = False
            self._last_save = self.options.clock()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.options.latency_ms:
            await asyncio.sleep(self.options.latency_ms / 1000.0)
        path: str = scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        method: str = scope["method"]
        family = FAMILY_OF_PATH.get(path, "default")
        if path not in self._paths:
            return await _reply(send, 404, {"message": f"Not Found: no endpoint {path}"},
                                self.limiter.peek(family))  # fmt: skip
        route = self.routes.get((method, path))
        if route is None:
            return await _reply(send, 405, {"message": f"Method Not Allowed: {method} {path}"},
                                self.limiter.peek(family))  # fmt: skip
        permission, handler, mutates = route
        denied = self._auth(scope, permission)
        if denied is not None:
            return await _reply(send, *denied, self.limiter.peek(family))
        decision = self.limiter.hit(family)
        if not decision.allowed:
            return await self._rate_limited(send, decision)
        if self.options.fault_rate and self._random.random() < self.options.fault_rate:
            status = self.options.fault_status
            message = {"message": _FAULT_MESSAGES.get(status, "Server Error") + " (injected)"}
            retry = [(b"retry-after", b"1")] if status == 429 else []
            return await _reply(send, status, message, decision, retry)
        extra: list[tuple[bytes, bytes]] = []
        if method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if path == "/custom_attributes":
                status, body, extra = self._custom_attributes(query)
            else:
                status, body = handler(query)
        else:
            try:
                raw = await _read_body(scope, receive)
            except _TooLarge:
                message = {"message": "Request Entity Too Large: the body is over 4 MB"}
                return await _reply(send, 413, message, decision)
            try:
                parsed = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError as exc:
                return await _reply(send, 400, {"message": f"Malformed JSON body: {exc}"}, decision)
            if type(parsed) is not dict:
                message = {"message": "The request body must be a JSON object"}
                return await _reply(send, 400, message, decision)
            status, body = handler(parsed)
            if mutates and status < 300:
                self._after_change()
        await _reply(send, status, body, decision, extra)

    def _auth(self, scope: Scope, permission: str) -> Answer | None:
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        scheme, _, key = header.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return 401, {"message": "Invalid API Key: send 'Authorization: Bearer <REST API key>'"}
        key = key.strip()
        if key not in self.options.api_keys:
            return 401, {"message": "Invalid API Key"}
        permissions = self.options.api_keys[key]
        if permissions is not None and permission not in permissions:
            return 403, {
                "message": f"Access Denied: this API key lacks the '{permission}' permission"
            }
        return None

    async def _rate_limited(self, send: Send, decision: RateDecision) -> None:
        retry = str(decision.retry_after).encode()
        payload = orjson.dumps({"message": "Rate Limited"})
        length = (b"content-length", str(len(payload)).encode())
        if self.options.combined_cap is not None:  # new-pricing mode (braze-api.md §8.2)
            headers = [_JSON, length, (b"x-ratelimit-retry-after", retry)]
        else:
            headers = [_JSON, length, *decision.headers(), (b"retry-after", retry)]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _after_change(self) -> None:
        if self.options.state is None:
            return
        self._dirty = True
        if self.options.clock() - self._last_save >= SAVE_INTERVAL:
            self.save()

    def _custom_attributes(
        self, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        """One page, with ``Link: </custom_attributes?cursor=…>; rel="next"`` but on the last."""
        cursors = query.get("cursor")
        cursor = cursors[0] if cursors else None
        try:
            items, following = self.catalog.page(cursor)
        except ValueError:
            return 400, {"message": "Invalid cursor"}, []
        body: dict[str, Any] = {"message": "success", "attributes": items}
        if following is None:
            return 200, body, []
        link = f'</custom_attributes?cursor={following}>; rel="next"'
        return 200, body, [(b"link", link.encode())]

    def _custom_attributes_route(self, query: dict[str, list[str]]) -> Answer:
        status, body, _ = self._custom_attributes(query)
        return status, body


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _TooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _reply(
    send: Send,
    status: int,
    body: dict[str, Any],
    decision: RateDecision,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = orjson.dumps(body)
    headers = [_JSON, (b"content-length", str(len(payload)).encode()), *decision.headers()]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def create_app(options: SandboxOptions | None = None) -> SandboxApp:
    """The sandbox ASGI app (served at the root path)."""
    return SandboxApp(options or SandboxOptions())
