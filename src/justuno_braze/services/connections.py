"""Braze connections for the CLI: the app's store, find-or-create by URL + key, and the
custom-attribute schema (S2) cached on the connection."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.client import BrazeClient
from justuno_braze.config import Settings
from justuno_braze.errors import AuthError, DeliveryError
from justuno_braze.store import Connection, Store


async def open_app_store(settings: Settings, *, var_dir: Path = Path("var")) -> Store:
    """The store of ``settings.database_url`` (migrated to head), its keys sealed by the
    vault of ``settings.secret_key`` or ``var/secret.key`` — the same one ``worker`` uses."""
    from justuno_braze.store import open_store
    from justuno_braze.vault import Vault

    return await open_store(settings.database_url, vault=Vault.from_settings(settings, var_dir))


async def connection_for(
    store: Store, account_id: int, base_url: str, api_key: str, *, waiting_import: str | None
) -> Connection:
    """Find-or-create the account's Braze connection with this (checked) URL and key.

    A connection whose key Braze refused (``failing``) and on which ``waiting_import``'s
    jobs wait takes the new key: re-running an import with the right key resumes it.
    """
    found = await store.connections.by_base_url_and_key(
        account_id, base_url=base_url, api_key=api_key
    )
    if found is not None:
        if found.status != "ok":  # the user retries with this key: let workers try again
            await store.connections.set_status(found.id, "ok", None)
        return found
    if waiting_import is not None:
        waiting = await store.outbox.connections_with_queued_jobs(import_id=waiting_import)
        for cid in waiting:
            candidate = await store.connections.get(cid)
            if candidate.base_url == base_url and candidate.status != "ok":
                await store.connections.set_api_key(cid, api_key)
                return await store.connections.get(cid)
    names = {c.name for c in await store.connections.for_account(account_id, app="braze")}
    name, n = "default", 1
    while name in names:
        n += 1
        name = f"import-{n}"
    return await store.connections.add(account_id, base_url=base_url, api_key=api_key, name=name)


async def braze_schema(
    store: Store, settings: Settings, connection: Connection, api_key: str, *, now: datetime
) -> AttributeSchema | None:
    """Braze's custom attributes (S2), cached on the connection; on failure the cached
    list (or ``None``). A refused key (401) marks the connection failing and raises
    ``AuthError``; a key without ``custom_attributes.get`` (403) leaves targets unchecked."""
    client = BrazeClient(
        connection.base_url,
        api_key,
        allowed_urls=settings.allowed_braze_urls,
        timeout=settings.braze_timeout_seconds,
    )
    try:
        items: list[dict[str, Any]] | None = await client.custom_attributes()
    except AuthError as exc:
        if exc.status == 401:
            await store.connections.set_status(connection.id, "failing", str(exc))
            raise
        items = None
    except DeliveryError:
        items = None
    finally:
        await client.aclose()
    if items is None:
        cached = connection.custom_attributes
        return AttributeSchema.from_api(cached) if cached is not None else None
    await store.connections.set_custom_attributes(connection.id, items, now=now)
    return AttributeSchema.from_api(items)
