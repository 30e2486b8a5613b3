"""Checking a workflow against the account (validation on save and publish).

One ``WorkflowError`` names every problem: the model's own (``Workflow.from_dict``), an
unknown or ambiguous connection (``steps[0].sync_to_app.connection: unknown connection
'x'``; a step without ``connection`` uses the account's only Braze connection), and the
schema problems of that connection's CACHED custom attributes (S9: Object /
Array-of-objects targets) — no call to Braze. Warnings (targets Braze does not know yet)
are returned, not raised. Ingestion resolves a step's connection with
:func:`resolve_connection` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.store import Account, Connection, Store
from justuno_braze.workflows import file_format
from justuno_braze.workflows.model import Workflow

BRAZE = "braze"


def _connection_problem(name: str | None, known: Sequence[Connection], path: str) -> str | None:
    names = ", ".join(repr(c.name) for c in known) or "none"
    if name is not None:
        if any(c.name == name for c in known):
            return None
        return f"{path}: unknown connection {name!r} (Braze connections: {names})"
    if len(known) == 1:
        return None
    if not known:
        return f"{path}: the account has no Braze connection; connect Braze under Apps first"
    return f"{path}: required: the account has several Braze connections ({names}); name one"


def resolve_connection(step_connection: str | None, known: Sequence[Connection]) -> Connection:
    """The connection a step syncs through: by name, else the account's only one."""
    problem = _connection_problem(step_connection, known, "connection")
    if problem is not None:
        raise InputError(problem.removeprefix("connection: "), field="connection")
    if step_connection is None:
        return known[0]
    return next(c for c in known if c.name == step_connection)


def _raw_connections(data: object) -> list[tuple[int, str | None]]:
    """``(step index, connection name)`` read from unvalidated data (best effort)."""
    steps = data.get("steps") if isinstance(data, Mapping) else None
    out: list[tuple[int, str | None]] = []
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        settings = step.get("sync_to_app") if isinstance(step, Mapping) else None
        if isinstance(settings, Mapping):
            name = settings.get("connection")
            out.append((i, name.strip() if isinstance(name, str) and name.strip() else None))
    return out


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _schema(connection: Connection) -> AttributeSchema | None:
    cached = connection.custom_attributes
    return AttributeSchema.from_api(cached) if cached is not None else None


async def _braze_connections(store: Store, account: Account) -> list[Connection]:
    return await store.connections.for_account(account.id, app=BRAZE)


async def checked(
    store: Store, account: Account, source: str | bytes | Mapping[str, Any]
) -> tuple[Workflow, list[str], AttributeSchema | None]:
    """The workflow with its warnings and first step's schema, or ONE ``WorkflowError``
    naming every problem (model, connections, Braze schema)."""
    data = source if isinstance(source, Mapping) else file_format.parse(source)
    if _has_nul(data):  # PostgreSQL text cannot hold NUL: refuse it as input
        raise InputError("must not contain NUL characters", field="workflow")
    known = await _braze_connections(store, account)
    try:
        workflow = Workflow.from_dict(data)
    except WorkflowError as exc:
        extra = [
            p
            for i, name in _raw_connections(data)
            if name is not None
            and (p := _connection_problem(name, known, f"steps[{i}].sync_to_app.connection"))
        ]
        raise WorkflowError([*exc.problems, *extra]) from None
    problems: list[str] = []
    warnings: list[str] = []
    first: AttributeSchema | None = None
    for i, step in enumerate(workflow.steps):
        prefix = f"steps[{i}].sync_to_app"
        problem = _connection_problem(step.connection, known, f"{prefix}.connection")
        if problem is not None:
            problems.append(problem)
            continue
        schema = _schema(resolve_connection(step.connection, known))
        first = schema if i == 0 else first
        problems.extend(step.problems(schema, prefix=prefix))
        warnings.extend(step.warnings(schema, prefix=prefix))
    if problems:
        raise WorkflowError(problems)
    return workflow, warnings, first


async def validate(
    store: Store, account: Account, source: str | bytes | Mapping[str, Any]
) -> list[str]:
    """The warnings of a valid workflow; ``WorkflowError`` naming every problem."""
    return (await checked(store, account, source))[1]


async def connection_users(store: Store, account: Account, connection: Connection) -> list[str]:
    """Names of the account's active workflows whose latest version syncs through it."""
    known = await _braze_connections(store, account)
    users: list[str] = []
    for published in await store.workflows.active_for(account.id, None):
        for _, name in _raw_connections(published.definition):
            if name == connection.name or (name is None and len(known) == 1):
                users.append(published.name)
                break
    return users
