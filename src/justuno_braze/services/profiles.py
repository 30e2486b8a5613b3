"""Profiles as the API shows them: the account's visitors, newest first, looked up by
email (normalised: `` Noah@Example.com `` finds ``noah@example.com``) or visitor id, and
one visitor in full — the merged properties and counters, their latest events, their
consent-ledger entries and their delivery history.

A return visitor is one with 2 sessions or more (sessions are 30 minutes of inactivity
apart, :mod:`justuno_braze.events`).
"""

from __future__ import annotations

from dataclasses import dataclass

from justuno_braze.errors import InputError
from justuno_braze.events import Event
from justuno_braze.services import consent as ledger
from justuno_braze.store import Delivery, LedgerEntry, Store, StoredProfile

RETURN_VISITOR_SESSIONS = 2
MAX_LIMIT = 500
RECENT_EVENTS = 50
RECENT_CONSENT = 100
RECENT_DELIVERIES = 50


@dataclass(frozen=True, slots=True)
class ProfilePage:
    """One page of profiles, newest first; ``next_cursor`` is None on the last page."""

    items: list[StoredProfile]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ProfileDetail:
    """One visitor in full. ``events`` and ``consent`` are the latest, newest first."""

    profile: StoredProfile
    events: list[Event]
    consent: list[LedgerEntry]
    deliveries: list[Delivery]


def is_return_visitor(profile: StoredProfile) -> bool:
    return profile.profile.sessions >= RETURN_VISITOR_SESSIONS


def parse_cursor(cursor: str | None) -> int | None:
    """A listing cursor (the last id of the previous page) or ``InputError``."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18 or int(cursor) < 1:
        raise InputError("is not a cursor this API returned", field="cursor")
    return int(cursor)


def check_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= maximum:
        raise InputError(f"must be between 1 and {maximum}", field="limit")
    return limit


async def list_profiles(
    store: Store,
    account_id: int,
    *,
    email: str | None = None,
    visitor_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> ProfilePage:
    """The account's profiles, newest first, filtered by email and/or visitor id."""
    before = parse_cursor(cursor)
    check_limit(limit)
    if visitor_id is not None:
        visitor_id = visitor_id.strip()
        if not visitor_id:
            raise InputError("must not be empty", field="visitor_id")
    rows = await store.profiles.list(
        account_id, limit=limit + 1, before_id=before, email=email, visitor_id=visitor_id
    )
    items = rows[:limit]
    more = len(rows) > limit
    return ProfilePage(items, str(items[-1].id) if more and items else None)


async def profile_detail(store: Store, account_id: int, visitor_id: str) -> ProfileDetail | None:
    """The visitor's profile with its events, consent entries and deliveries; None when the
    account has no such visitor."""
    stored = await store.profiles.get(account_id, visitor_id)
    if stored is None:
        return None
    events = await store.events.for_visitor(account_id, visitor_id, limit=RECENT_EVENTS)
    consent = await ledger.for_visitor(store, account_id, visitor_id, limit=RECENT_CONSENT)
    deliveries = await store.deliveries.history_for_profile(
        account_id, visitor_id, limit=RECENT_DELIVERIES
    )
    return ProfileDetail(stored, list(reversed(events)), consent, deliveries)


async def profile_deliveries(
    store: Store, account_id: int, visitor_id: str, *, limit: int = 100
) -> list[Delivery] | None:
    """The visitor's delivery history, newest first; None when there is no such visitor."""
    check_limit(limit)
    if await store.profiles.get(account_id, visitor_id) is None:
        return None
    return await store.deliveries.history_for_profile(account_id, visitor_id, limit=limit)
