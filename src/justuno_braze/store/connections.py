"""Connections: an account's connected apps (Braze), with the API key encrypted at rest.

The key is decrypted only on demand (:meth:`Connections.api_key`); a :class:`Connection`
carries only ``key_hint`` (masked, e.g. ``****abcd``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justuno_braze.config import mask
from justuno_braze.errors import InputError, StoreError
from justuno_braze.store.session import reading, transaction
from justuno_braze.store.tables import connections
from justuno_braze.vault import Vault

STATUSES = ("ok", "failing")
_PUBLIC = [c for c in connections.c if c.name != "api_key_enc"]


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    account_id: int
    app: str
    name: str
    base_url: str
    key_hint: str
    status: str
    status_reason: str | None
    status_since: datetime | None  # when ``status`` last changed (None: before 0004)
    custom_attributes: list[dict[str, Any]] | None
    custom_attributes_at: datetime | None
    created_at: datetime


class Connections:
    """The connections repository; ``vault`` encrypts the keys."""

    def __init__(self, engine: AsyncEngine, vault: Vault | None) -> None:
        self._engine = engine
        self._vault = vault

    def _need_vault(self) -> Vault:
        if self._vault is None:
            raise StoreError("no secret key: open the store with a Vault to use API keys")
        return self._vault

    async def add(
        self,
        account_id: int,
        *,
        base_url: str,
        api_key: str,
        name: str = "default",
        app: str = "braze",
        now: datetime | None = None,
    ) -> Connection:
        """A new connection (``base_url`` must already be checked by the caller)."""
        if not api_key.strip():
            raise InputError("must not be empty", field="api_key")
        if not name.strip():
            raise InputError("must not be empty", field="name")
        vault = self._need_vault()
        async with transaction(self._engine) as conn:
            exists = (
                await conn.execute(
                    select(connections.c.id).where(
                        connections.c.account_id == account_id,
                        connections.c.app == app,
                        connections.c.name == name,
                    )
                )
            ).first()
            if exists is not None:
                raise InputError(f"a {app} connection named {name!r} exists", field="name")
            result = await conn.execute(
                insert(connections)
                .values(
                    account_id=account_id,
                    app=app,
                    name=name,
                    base_url=base_url,
                    api_key_enc=vault.encrypt(api_key),
                    key_hint=mask(api_key),
                    status="ok",
                    status_since=now or datetime.now(UTC),
                    created_at=now or datetime.now(UTC),
                )
                .returning(*_PUBLIC)
            )
            return _connection(result.one())

    async def get(self, connection_id: int) -> Connection:
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(select(*_PUBLIC).where(connections.c.id == connection_id))
            ).first()
        if row is None:
            raise StoreError(f"connection {connection_id} does not exist")
        return _connection(row)

    async def for_account(self, account_id: int, *, app: str | None = None) -> list[Connection]:
        stmt = select(*_PUBLIC).where(connections.c.account_id == account_id)
        if app is not None:
            stmt = stmt.where(connections.c.app == app)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt.order_by(connections.c.id))).all()
        return [_connection(r) for r in rows]

    async def by_name(self, account_id: int, name: str, *, app: str = "braze") -> Connection | None:
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(
                    select(*_PUBLIC).where(
                        connections.c.account_id == account_id,
                        connections.c.app == app,
                        connections.c.name == name,
                    )
                )
            ).first()
        return None if row is None else _connection(row)

    async def api_key(self, connection_id: int) -> str:
        """The decrypted API key (never log it)."""
        vault = self._need_vault()
        async with reading(self._engine) as conn:
            token = await _column(conn, connections.c.api_key_enc, connection_id)
        return vault.decrypt(token)

    async def set_api_key(self, connection_id: int, api_key: str) -> None:
        """Replace the key (e.g. after a 401); the status goes back to ``ok``."""
        if not api_key.strip():
            raise InputError("must not be empty", field="api_key")
        vault = self._need_vault()
        await self._change_status(
            connection_id,
            "ok",
            None,
            api_key_enc=vault.encrypt(api_key),
            key_hint=mask(api_key),
        )

    async def set_status(
        self, connection_id: int, status: str, reason: str | None, *, now: datetime | None = None
    ) -> None:
        """``ok`` or ``failing`` (with the reason the UI shows)."""
        if status not in STATUSES:
            raise InputError(f"must be one of {', '.join(STATUSES)}", field="status")
        await self._change_status(connection_id, status, reason, now=now)

    async def _change_status(
        self,
        connection_id: int,
        status: str,
        reason: str | None,
        *,
        now: datetime | None = None,
        **values: Any,
    ) -> None:
        """Set the status; ``status_since`` moves only when it changes, so a connection
        that fails again (every paused worker reports it) keeps when it FIRST failed."""
        async with transaction(self._engine) as conn:
            current = await _column(conn, connections.c.status, connection_id)
            if current != status:
                values["status_since"] = now or datetime.now(UTC)
            await conn.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(status=status, status_reason=reason, **values)
            )

    async def set_custom_attributes(
        self, connection_id: int, items: list[dict[str, Any]], *, now: datetime
    ) -> None:
        """Cache Braze's ``GET /custom_attributes`` list for the connection."""
        await self._update(connection_id, custom_attributes=items, custom_attributes_at=now)

    async def by_base_url_and_key(
        self, account_id: int, *, base_url: str, api_key: str, app: str = "braze"
    ) -> Connection | None:
        """The account's connection with this URL and key (keys are compared decrypted)."""
        vault = self._need_vault()
        async with reading(self._engine) as conn:
            rows = (
                await conn.execute(
                    select(*_PUBLIC, connections.c.api_key_enc)
                    .where(
                        connections.c.account_id == account_id,
                        connections.c.app == app,
                        connections.c.base_url == base_url,
                    )
                    .order_by(connections.c.id)
                )
            ).all()
        for row in rows:
            if vault.decrypt(row._mapping["api_key_enc"]) == api_key:
                return _connection(row)
        return None

    async def delete(self, account_id: int, connection_id: int) -> bool:
        """Delete the account's connection ``connection_id``; False when it has no such one."""
        async with transaction(self._engine) as conn:
            result = await conn.execute(
                delete(connections).where(
                    connections.c.id == connection_id, connections.c.account_id == account_id
                )
            )
        return bool(result.rowcount)

    async def _update(self, connection_id: int, **values: Any) -> None:
        async with transaction(self._engine) as conn:
            result = await conn.execute(
                update(connections).where(connections.c.id == connection_id).values(**values)
            )
        if result.rowcount == 0:
            raise StoreError(f"connection {connection_id} does not exist")


async def _column(conn: AsyncConnection, column: Any, connection_id: int) -> Any:
    """One column of the connection's row; ``StoreError`` when there is no such row."""
    value = (await conn.execute(select(column).where(connections.c.id == connection_id))).scalar()
    if value is None:
        raise StoreError(f"connection {connection_id} does not exist")
    return value


def _connection(row: Any) -> Connection:
    m = row._mapping
    return Connection(
        id=m["id"],
        account_id=m["account_id"],
        app=m["app"],
        name=m["name"],
        base_url=m["base_url"],
        key_hint=m["key_hint"],
        status=m["status"],
        status_reason=m["status_reason"],
        status_since=m["status_since"],
        custom_attributes=m["custom_attributes"],
        custom_attributes_at=m["custom_attributes_at"],
        created_at=m["created_at"],
    )
