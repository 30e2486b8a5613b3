"""Deliveries: the account's outbox jobs by state (with Braze's reason for dead letters),
and replay of its dead letters after a fix.

Everything is scoped to the account: listing goes through ``store.deliveries`` (jobs of
the account's connections); replay runs the outbox's filtered replay once per connection
of the account, so another account's dead letters are never touched, even by id.

A replay's time filter is on when the job died, ``[since, until)`` like every range of
the API. Replaying by ``ids`` refuses (``NotADeadLetter``) ids that are not dead letters
of the account — nothing is replayed then. ``list_dead_letters`` lists the dead letters
a ``ReplayRequest`` matches (the same filters, :func:`replays`), so the UI can show what
its "replay all matching" button will re-queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from justuno_braze.errors import InputError
from justuno_braze.services.profiles import check_limit, parse_cursor
from justuno_braze.services.time_range import TimeRange
from justuno_braze.store import Delivery, Store
from justuno_braze.store.deliveries import STATES
from justuno_braze.store.scoped import MAX_PAGE

MAX_REPLAY_IDS = 1000
MAX_WORKFLOW_ID = 100
MAX_REASON = 200
_MICROSECOND = timedelta(microseconds=1)


class NotADeadLetter(InputError):
    """Some ids are not dead letters of this account (never says whose they are): the web
    layer answers 404."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        shown = ", ".join(str(i) for i in self.ids[:10])
        super().__init__(f"no dead letter with id {shown} in this account", field="ids")


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """Which dead letters to re-queue; every given filter must match."""

    ids: list[int] | None = None
    workflow_id: str | None = None
    reason: str | None = None  # a part of Braze's reason, case-insensitive
    window: TimeRange | None = None  # when they died

    def __post_init__(self) -> None:
        if self.ids is not None:
            if not self.ids:
                raise InputError("must name at least one id (or leave it out)", field="ids")
            if len(self.ids) > MAX_REPLAY_IDS:
                raise InputError(f"at most {MAX_REPLAY_IDS} ids at once", field="ids")
            if any(i < 1 for i in self.ids):
                raise InputError("ids are positive integers", field="ids")
        check_text(self.workflow_id, "workflow_id", MAX_WORKFLOW_ID)
        check_text(self.reason, "reason", MAX_REASON)


def check_text(value: str | None, name: str, limit: int) -> None:
    if value is not None and not 1 <= len(value) <= limit:
        raise InputError(f"must be 1-{limit} characters", field=name)


async def list_deliveries(
    store: Store,
    account_id: int,
    *,
    state: str | None = None,
    workflow_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The account's deliveries, newest first, of one ``state`` and/or ``workflow_id``."""
    before = parse_cursor(cursor)
    check_limit(limit)
    if state is not None and state not in STATES:
        raise InputError(f"must be one of {', '.join(STATES)}", field="state")
    check_text(workflow_id, "workflow_id", MAX_WORKFLOW_ID)
    keep = None if workflow_id is None else (lambda d: d.workflow_id == workflow_id)
    return await _collect(store, account_id, state, keep, before, limit)


async def list_dead_letters(
    store: Store,
    account_id: int,
    where: ReplayRequest,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The account's dead letters that ``replay(where)`` would re-queue, newest first:
    a page can list exactly what its "replay all matching" button re-queues."""
    before = parse_cursor(cursor)
    check_limit(limit)
    return await _collect(store, account_id, "dead", lambda d: replays(where, d), before, limit)


def replays(where: ReplayRequest, dead_letter: Delivery) -> bool:
    """Whether ``where`` matches the dead letter (the outbox replay's filters, in Python:
    ids, workflow, a part of the reason in any case, died in ``[since, until)``)."""
    reason = (dead_letter.reason or "").lower()
    died = dead_letter.finished_at
    window = where.window
    return (
        (where.ids is None or dead_letter.id in where.ids)
        and (where.workflow_id is None or dead_letter.workflow_id == where.workflow_id)
        and (not where.reason or where.reason.lower() in reason)
        and (window is None or (died is not None and window.since <= died < window.until))
    )


async def _collect(
    store: Store,
    account_id: int,
    state: str | None,
    keep: Callable[[Delivery], bool] | None,
    before: int | None,
    limit: int,
) -> DeliveryPage:
    found: list[Delivery] = []
    while len(found) <= limit:
        # The repository filters by state only: other filters read pages until full.
        size = limit + 1 if keep is None else MAX_PAGE
        page = await store.deliveries.list_deliveries(
            account_id, state=state, limit=size, before_id=before
        )
        found.extend(d for d in page if keep is None or keep(d))
        if len(page) < size:
            break
        before = page[-1].id
    items = found[:limit]
    return DeliveryPage(items, str(items[-1].id) if len(found) > limit else None)


async def replay(store: Store, account_id: int, request: ReplayRequest, *, now: datetime) -> int:
    """Re-queue the account's dead letters matching ``request`` (due ``now``, attempts
    from 0); returns how many."""
    connections = await store.connections.for_account(account_id)
    if request.ids is not None:
        await _check_dead_letters(store, account_id, request.ids)
    window = request.window
    total = 0
    for connection in connections:
        total += await store.outbox.replay(
            now=now,
            connection_id=connection.id,
            workflow_id=request.workflow_id,
            reason_contains=request.reason,
            since=None if window is None else window.since,
            until=None if window is None else window.until - _MICROSECOND,
            ids=request.ids,
        )
    return total


async def _check_dead_letters(store: Store, account_id: int, ids: list[int]) -> None:
    wanted = set(ids)
    found: set[int] = set()
    before: int | None = None
    lowest = min(wanted)
    while True:
        page = await store.deliveries.list_deliveries(
            account_id, state="dead", limit=MAX_PAGE, before_id=before
        )
        found.update(d.id for d in page if d.id in wanted)
        if len(page) < MAX_PAGE or found == wanted or page[-1].id <= lowest:
            break
        before = page[-1].id
    missing = sorted(wanted - found)
    if missing:
        raise NotADeadLetter(missing)
