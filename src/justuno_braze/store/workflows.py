"""Workflows as stored: an editable draft per workflow, and immutable numbered versions.

- ``draft`` is the workflow's plain form (``Workflow.to_dict()``, or whatever the editor
  saved: validation is the service's job); ``status`` is ``draft`` (never published),
  ``active`` or ``paused``. The first publish makes a ``draft`` workflow ``active``.
- ``publish`` freezes a definition as the next version: it first updates the workflow row
  (a row lock on PostgreSQL, the one writer on SQLite), so concurrent publishers number
  one after the other; the unique ``(workflow_id, version)`` backs that, with a retry.
- Versions have no update method: once published they never change.
- ``active_for`` is the ingestion path's one query per batch: the account's active
  workflows with their latest version, for one trigger event type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError, StoreError
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware, is_conflict
from justuno_braze.store.tables import workflow_versions, workflows

STATUSES = ("draft", "active", "paused")
MAX_NAME = 200
PUBLISH_ATTEMPTS = 5
_W = workflows
_V = workflow_versions


@dataclass(frozen=True, slots=True)
class StoredWorkflow:
    id: int
    account_id: int
    name: str
    draft: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    latest_version: int | None  # None until published


@dataclass(frozen=True, slots=True)
class WorkflowVersion:
    workflow_id: int
    version: int
    definition: dict[str, Any]
    author: str
    note: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class PublishedWorkflow:
    """An active workflow with its latest published version (what ingestion runs)."""

    workflow_id: int
    name: str
    version: int
    definition: dict[str, Any]
    published_at: datetime


def _latest() -> Any:
    """The latest version number of ``workflows.id`` (a correlated scalar subquery)."""
    other = _V.alias("latest")
    return (
        select(func.max(other.c.version))
        .where(other.c.workflow_id == _W.c.id)
        .correlate(_W)
        .scalar_subquery()
    )


class Workflows(Scoped):
    """The ``workflows`` and ``workflow_versions`` repository."""

    async def create(
        self,
        account_id: int,
        name: str,
        draft: Mapping[str, Any],
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> StoredWorkflow:
        """A new draft workflow; ``InputError`` when the account has one of that name."""
        name = _name(name)
        at = aware(now or datetime.now(UTC), "now")
        async with self._writing(conn) as c:
            row = (
                await c.execute(
                    upsert_insert(c.dialect, _W)
                    .values(
                        account_id=account_id,
                        name=name,
                        draft=dict(draft),
                        status="draft",
                        created_at=at,
                        updated_at=at,
                    )
                    .on_conflict_do_nothing(index_elements=["account_id", "name"])
                    .returning(_W.c.id)
                )
            ).first()
        if row is None:
            raise InputError(f"a workflow named {name!r} exists", field="name")
        found = await self.get(account_id, row.id, conn=conn)
        assert found is not None
        return found

    async def get(
        self, account_id: int, workflow_id: int, *, conn: AsyncConnection | None = None
    ) -> StoredWorkflow | None:
        async with self._reading(conn) as c:
            row = (
                await c.execute(
                    select(_W, _latest().label("latest_version")).where(
                        _W.c.id == workflow_id, _W.c.account_id == account_id
                    )
                )
            ).first()
        return None if row is None else _workflow(row)

    async def by_name(self, account_id: int, name: str) -> StoredWorkflow | None:
        async with self._reading(None) as c:
            row = (
                await c.execute(
                    select(_W, _latest().label("latest_version")).where(
                        _W.c.account_id == account_id, _W.c.name == name
                    )
                )
            ).first()
        return None if row is None else _workflow(row)

    async def update_draft(
        self,
        account_id: int,
        workflow_id: int,
        draft: Mapping[str, Any],
        *,
        name: str | None = None,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> StoredWorkflow:
        """Save the draft (and rename when ``name``); ``StoreError`` when not found."""
        values: dict[str, Any] = {
            "draft": dict(draft),
            "updated_at": aware(now or datetime.now(UTC), "now"),
        }
        if name is not None:
            values["name"] = _name(name)
        try:
            async with self._writing(conn) as c:
                if name is not None and await _name_taken(
                    c, account_id, values["name"], workflow_id
                ):
                    raise InputError(f"a workflow named {values['name']!r} exists", field="name")
                await self._change(c, account_id, workflow_id, values)
        except (IntegrityError, StoreError) as exc:
            if not is_conflict(exc):  # else: renamed concurrently onto the same name
                raise
            raise InputError("a workflow of that name exists", field="name") from None
        found = await self.get(account_id, workflow_id, conn=conn)
        assert found is not None
        return found

    async def set_status(
        self,
        account_id: int,
        workflow_id: int,
        status: str,
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Pause (``paused``) or resume (``active``); only a published workflow is active."""
        if status not in STATUSES:
            raise InputError(f"must be one of {', '.join(STATUSES)}", field="status")
        async with self._writing(conn) as c:
            if status == "active":
                published = await c.execute(
                    select(_V.c.id)
                    .select_from(_V)
                    .join(_W, _W.c.id == _V.c.workflow_id)
                    .where(_W.c.id == workflow_id, _W.c.account_id == account_id)
                    .limit(1)
                )
                if published.first() is None:
                    raise InputError("publish the workflow before activating it", field="status")
            values = {"status": status, "updated_at": aware(now or datetime.now(UTC), "now")}
            await self._change(c, account_id, workflow_id, values)

    async def delete(
        self, account_id: int, workflow_id: int, *, conn: AsyncConnection | None = None
    ) -> bool:
        """Delete the workflow with its versions and enrollments; False when not found."""
        async with self._writing(conn) as c:
            result = await c.execute(
                delete(_W).where(_W.c.id == workflow_id, _W.c.account_id == account_id)
            )
        return bool(result.rowcount)

    async def publish(
        self,
        account_id: int,
        workflow_id: int,
        *,
        definition: Mapping[str, Any],
        author: str,
        note: str | None,
        now: datetime,
    ) -> int:
        """Freeze ``definition`` as the next version; returns its number (1, 2, …)."""
        aware(now, "now")
        if not author.strip():
            raise InputError("must not be empty", field="author")
        trigger = definition.get("trigger")
        event = trigger.get("event") if isinstance(trigger, Mapping) else None
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                async with self._writing(None) as c:
                    await self._change(
                        c,
                        account_id,
                        workflow_id,
                        {
                            "updated_at": now,
                            "status": func.coalesce(func.nullif(_W.c.status, "draft"), "active"),
                        },
                    )
                    latest = (
                        await c.execute(
                            select(func.max(_V.c.version)).where(_V.c.workflow_id == workflow_id)
                        )
                    ).scalar()
                    version = (latest or 0) + 1
                    await c.execute(
                        _V.insert().values(
                            workflow_id=workflow_id,
                            version=version,
                            definition=dict(definition),
                            trigger_event=event if isinstance(event, str) else None,
                            author=author.strip()[:MAX_NAME],
                            note=note,
                            published_at=now,
                        )
                    )
                return version
            except StoreError as exc:
                if not is_conflict(exc):
                    raise
        raise StoreError(f"could not number a new version of workflow {workflow_id}")

    async def versions(self, account_id: int, workflow_id: int) -> list[WorkflowVersion]:
        """Every published version, oldest first (empty when not found)."""
        async with self._reading(None) as c:
            rows = (
                await c.execute(
                    select(_V)
                    .join(_W, _W.c.id == _V.c.workflow_id)
                    .where(_W.c.id == workflow_id, _W.c.account_id == account_id)
                    .order_by(_V.c.version)
                )
            ).all()
        return [_version(r) for r in rows]

    async def version(
        self,
        account_id: int,
        workflow_id: int,
        version: int,
        *,
        conn: AsyncConnection | None = None,
    ) -> WorkflowVersion | None:
        async with self._reading(conn) as c:
            row = (
                await c.execute(
                    select(_V)
                    .join(_W, _W.c.id == _V.c.workflow_id)
                    .where(
                        _W.c.id == workflow_id,
                        _W.c.account_id == account_id,
                        _V.c.version == version,
                    )
                )
            ).first()
        return None if row is None else _version(row)

    async def active_for(
        self, account_id: int, event_type: str | None, *, conn: AsyncConnection | None = None
    ) -> list[PublishedWorkflow]:
        """The account's active workflows with their latest version, in id order; only
        those triggered by ``event_type`` unless it is None. One query."""
        stmt = (
            select(_W.c.id, _W.c.name, _V.c.version, _V.c.definition, _V.c.published_at)
            .select_from(_W)
            .join(_V, and_(_V.c.workflow_id == _W.c.id, _V.c.version == _latest()))
            .where(_W.c.account_id == account_id, _W.c.status == "active")
            .order_by(_W.c.id)
        )
        if event_type is not None:
            stmt = stmt.where(_V.c.trigger_event == event_type)
        async with self._reading(conn) as c:
            rows = (await c.execute(stmt)).all()
        return [
            PublishedWorkflow(
                workflow_id=r.id,
                name=r.name,
                version=r.version,
                definition=r.definition,
                published_at=r.published_at,
            )
            for r in rows
        ]

    async def list(self, account_id: int) -> list[StoredWorkflow]:
        """The account's workflows by name."""
        async with self._reading(None) as c:
            rows = (
                await c.execute(
                    select(_W, _latest().label("latest_version"))
                    .where(_W.c.account_id == account_id)
                    .order_by(_W.c.name, _W.c.id)
                )
            ).all()
        return [_workflow(r) for r in rows]

    @staticmethod
    async def _change(
        conn: AsyncConnection, account_id: int, workflow_id: int, values: dict[str, Any]
    ) -> None:
        result = await conn.execute(
            update(_W).where(_W.c.id == workflow_id, _W.c.account_id == account_id).values(**values)
        )
        if result.rowcount == 0:
            raise StoreError(f"workflow {workflow_id} does not exist")


async def _name_taken(conn: AsyncConnection, account_id: int, name: str, own_id: int) -> bool:
    found = await conn.execute(
        select(_W.c.id).where(_W.c.account_id == account_id, _W.c.name == name, _W.c.id != own_id)
    )
    return found.first() is not None


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InputError(f"must be 1-{MAX_NAME} characters", field="name")
    return name


def _workflow(row: Any) -> StoredWorkflow:
    m = row._mapping
    return StoredWorkflow(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        draft=m["draft"],
        status=m["status"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        latest_version=m["latest_version"],
    )


def _version(row: Any) -> WorkflowVersion:
    m = row._mapping
    return WorkflowVersion(
        workflow_id=m["workflow_id"],
        version=m["version"],
        definition=m["definition"],
        author=m["author"],
        note=m["note"],
        published_at=m["published_at"],
    )
