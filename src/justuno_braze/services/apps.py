"""Apps: the catalog (S3) and the account's Braze connections (S1), verified on connect.

Connecting Braze checks the REST endpoint against the instance table
(``check_braze_url``; other hosts only via ``JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS``), then
verifies the key by calling ``GET /custom_attributes`` with the one Braze client. A
failure is a :class:`ConnectionRefused` (an ``InputError``) with a precise ``reason``:

- ``invalid_key`` — Braze answered 401 (``field="api_key"``);
- ``missing_permission`` — 403: the key lacks ``custom_attributes.get`` (``api_key``);
- ``unreachable`` — connection refused, DNS, TLS (``rest_endpoint``);
- ``timeout`` — no answer within ``Settings.braze_timeout_seconds`` (``rest_endpoint``);
- ``braze_error`` — Braze answered something else (429, 5xx, 404…) (``rest_endpoint``).

A bad URL stays the plain ``InputError`` of ``check_braze_url`` (``rest_endpoint``).
Keys are stored encrypted by the connections repository (the vault), shown only masked
(``key_hint``), and never logged: messages carry Braze's words, never the key.

Disconnecting deletes the connection — its outbox rows go with it (``ON DELETE
CASCADE``), so it is REFUSED while jobs still wait for delivery on it, or while a
published, active workflow sends through it (pause the workflow first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from justuno_braze.braze.client import BrazeClient
from justuno_braze.braze.instances import check_braze_url, instance_choices, instance_for
from justuno_braze.config import Settings
from justuno_braze.errors import AuthError, DeliveryError, InputError, WorkflowError
from justuno_braze.services.workflow_checks import connection_users
from justuno_braze.store import Account, Connection, Store

log = logging.getLogger(__name__)

BRAZE = "braze"
BRAZE_PERMISSIONS = ("users.track", "custom_attributes.get")
MAX_CONNECT_TIMEOUT = 5.0
REASONS = ("invalid_key", "missing_permission", "unreachable", "timeout", "braze_error")


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class AppDescriptor:
    """One app of the catalog; ``available`` False means shown as coming soon."""

    id: str
    name: str
    description: str
    available: bool
    tags: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    instances: tuple[dict[str, str], ...] = ()

    def matches(self, q: str) -> bool:
        needle = q.strip().lower()
        return not needle or any(needle in s.lower() for s in (self.name, self.id, *self.tags))


CATALOG: tuple[AppDescriptor, ...] = (
    AppDescriptor(
        id=BRAZE,
        name="Braze",
        description=(
            "Sync Justuno leads to Braze user profiles: default attributes, mapped "
            "properties, SMS and email subscription groups, an optional custom event."
        ),
        available=True,
        tags=("crm", "email", "sms", "customer engagement", "marketing automation"),
        needs=(
            "a Braze REST API key with the users.track and custom_attributes.get permissions",
            "the REST endpoint of your Braze instance (Settings › APIs and Identifiers)",
        ),
        permissions=BRAZE_PERMISSIONS,
        instances=tuple(instance_choices()),
    ),
    AppDescriptor(
        id="klaviyo",
        name="Klaviyo",
        description="Coming soon: not available in this version.",
        available=False,
        tags=("email", "sms", "marketing automation"),
    ),
    AppDescriptor(
        id="webhook",
        name="Webhook",
        description="Coming soon (planned workflow step): not available in this version.",
        available=False,
        tags=("http", "developer"),
    ),
)


def catalog(q: str | None = None) -> list[AppDescriptor]:
    """The apps whose name, id or tags contain ``q`` (case-insensitive); all when empty."""
    return [app for app in CATALOG if app.matches(q or "")]


# --------------------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A connection as shown: the key only masked, never the key."""

    id: int
    app: str
    name: str
    rest_endpoint: str
    instance: str | None
    key_hint: str
    status: str
    status_reason: str | None
    status_since: datetime | None
    custom_attributes_count: int | None
    custom_attributes_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: Connection) -> ConnectionView:
        found = instance_for(c.base_url)
        return cls(
            id=c.id,
            app=c.app,
            name=c.name,
            rest_endpoint=c.base_url,
            instance=found.code if found is not None else None,
            key_hint=c.key_hint,
            status=c.status,
            status_reason=c.status_reason,
            status_since=c.status_since,
            custom_attributes_count=(
                len(c.custom_attributes) if c.custom_attributes is not None else None
            ),
            custom_attributes_at=c.custom_attributes_at,
            created_at=c.created_at,
        )


@dataclass(frozen=True, slots=True)
class CustomAttributes:
    """The cached ``GET /custom_attributes`` list of a connection."""

    connection_id: int
    fetched_at: datetime | None
    attributes: list[dict[str, Any]] = field(default_factory=list)


class ConnectionRefused(InputError):
    """Braze did not accept the connection; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str, *, field: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message, field=field)


class UnknownConnection(LookupError):
    """No such connection in this account (another account's looks the same)."""


# --------------------------------------------------------------------------- verification


def _reason(exc: DeliveryError) -> tuple[str, str]:
    """``(reason, field)`` of a failed ``GET /custom_attributes``."""
    if isinstance(exc, AuthError):
        return ("missing_permission" if exc.status == 403 else "invalid_key"), "api_key"
    if exc.status is None:  # no HTTP answer: the client's transport error
        cause = exc.__context__
        if isinstance(cause, httpx.TimeoutException) or "timed out" in str(exc):
            return "timeout", "rest_endpoint"
        return "unreachable", "rest_endpoint"
    return "braze_error", "rest_endpoint"


async def verify_key(
    settings: Settings,
    base_url: str,
    api_key: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[dict[str, Any]]:
    """Braze's custom attributes with this URL and key, or :class:`ConnectionRefused`."""
    timeout = settings.braze_timeout_seconds
    client = BrazeClient(
        base_url,
        api_key,
        allowed_urls=settings.allowed_braze_urls,
        transport=transport,
        timeout=timeout,
        connect_timeout=min(MAX_CONNECT_TIMEOUT, timeout),
    )
    try:
        return await client.custom_attributes()
    except DeliveryError as exc:
        reason, where = _reason(exc)
        message = str(exc)  # the client scrubs the key out of its messages
        if reason == "timeout":
            message = f"Braze did not answer within {timeout:g} s ({message})"
        elif reason == "unreachable":
            message = f"cannot reach {base_url} ({message})"
        log.info("braze connection check failed: %s (%s)", reason, base_url)
        raise ConnectionRefused(reason, message, field=where) from None
    finally:
        await client.aclose()


def _key(api_key: str) -> str:
    key = api_key.strip() if isinstance(api_key, str) else ""
    if not key:
        raise InputError("a Braze REST API key is required", field="api_key")
    if any(ch.isspace() for ch in key) or key[0] in "\"'":
        raise InputError("must be the key alone, without quotes or spaces", field="api_key")
    if not (key.isascii() and key.isprintable()):
        raise InputError("must be printable ASCII characters (a Braze key is)", field="api_key")
    return key


# --------------------------------------------------------------------------- connections


async def connect_braze(
    store: Store,
    settings: Settings,
    account: Account,
    *,
    rest_endpoint: str,
    api_key: str,
    name: str = "default",
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ConnectionView:
    """A new verified Braze connection with its custom attributes cached."""
    base_url = check_braze_url(rest_endpoint, settings.allowed_braze_urls)
    key = _key(api_key)
    name = (name or "").strip()
    if not name or not name.isprintable():
        raise InputError("must be non-empty printable text", field="name")
    if await store.connections.by_name(account.id, name, app=BRAZE) is not None:
        raise InputError(
            f"a Braze connection named {name!r} exists: update its key instead", field="name"
        )
    items = await verify_key(settings, base_url, key, transport=transport)
    created = await store.connections.add(
        account.id, base_url=base_url, api_key=key, name=name, app=BRAZE, now=now
    )
    await store.connections.set_custom_attributes(created.id, items, now=now)
    log.info("braze connection %s (%s) connected for account %s", name, base_url, account.slug)
    return ConnectionView.of(await store.connections.get(created.id))


async def owned(store: Store, account: Account, connection_id: int) -> Connection:
    """The account's connection ``connection_id``, else :class:`UnknownConnection`."""
    for found in await store.connections.for_account(account.id):
        if found.id == connection_id:
            return found
    raise UnknownConnection(f"connection {connection_id} not found")


async def list_connections(store: Store, account: Account) -> list[ConnectionView]:
    return [ConnectionView.of(c) for c in await store.connections.for_account(account.id)]


async def get_connection(store: Store, account: Account, connection_id: int) -> ConnectionView:
    return ConnectionView.of(await owned(store, account, connection_id))


async def update_key(
    store: Store,
    settings: Settings,
    account: Account,
    connection_id: int,
    *,
    api_key: str,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ConnectionView:
    """Replace the key after verifying it (the status goes back to ``ok``: paused
    deliveries resume); the custom attributes are refreshed with it."""
    found = await owned(store, account, connection_id)
    key = _key(api_key)
    items = await verify_key(settings, found.base_url, key, transport=transport)
    await store.connections.set_api_key(found.id, key)
    await store.connections.set_custom_attributes(found.id, items, now=now)
    log.info("braze connection %s: key replaced", found.id)
    return ConnectionView.of(await store.connections.get(found.id))


async def refresh_attributes(
    store: Store,
    settings: Settings,
    account: Account,
    connection_id: int,
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ConnectionView:
    """Fetch Braze's custom attributes again. A refused key (401/403) marks the
    connection failing with the reason; other failures keep the cached list."""
    found = await owned(store, account, connection_id)
    key = await store.connections.api_key(found.id)
    try:
        items = await verify_key(settings, found.base_url, key, transport=transport)
    except ConnectionRefused as exc:
        if exc.reason in ("invalid_key", "missing_permission"):
            await store.connections.set_status(found.id, "failing", exc.message)
        raise
    await store.connections.set_custom_attributes(found.id, items, now=now)
    if found.status != "ok":
        await store.connections.set_status(found.id, "ok", None)
    return ConnectionView.of(await store.connections.get(found.id))


async def custom_attributes(store: Store, account: Account, connection_id: int) -> CustomAttributes:
    found = await owned(store, account, connection_id)
    return CustomAttributes(found.id, found.custom_attributes_at, found.custom_attributes or [])


async def disconnect(store: Store, account: Account, connection_id: int) -> None:
    """Delete the connection, unless jobs wait on it or an active workflow uses it."""
    found = await owned(store, account, connection_id)
    waiting = await store.outbox.depth(connection_id=found.id)
    if waiting:
        raise InputError(
            f"{waiting} job(s) still wait for delivery on this connection; "
            "let them drain (or fix the key so they can) before disconnecting",
            field="connection",
        )
    users = await connection_users(store, account, found)
    if users:
        raise WorkflowError(
            [
                f"workflow {name!r} is active and syncs through connection {found.name!r}: "
                "pause it or point it at another connection first"
                for name in users
            ]
        )
    await store.connections.delete(account.id, found.id)
    log.info("braze connection %s disconnected for account %s", found.id, account.slug)
