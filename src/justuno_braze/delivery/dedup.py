"""Dedup (pure): send Braze only what changed since it last accepted this user.

Braze bills data points for every attribute it receives (braze-api.md §2.9, §8.5), and an
older update arriving late would overwrite a newer value ("email reverts", §2.9). The
worker keeps a record of what Braze last accepted per user and attribute — value and the
``occurred_at`` of the update that set it — and :func:`dedup` uses it to

- drop an attribute whose value equals the last accepted one (unchanged);
- drop an attribute whose last accepted timestamp is newer than this update's (stale);
- always keep the identifier (``email``/``phone``/``external_id``/``user_alias``/
  ``braze_id``), control keys (``_update_existing_only``), ``subscription_groups`` and the
  non-billable fields ``country``, ``language``, ``email_subscribe``, ``push_subscribe``
  (RudderStack's always-send list, peers.md);
- drop events whose idempotency key was already recorded (replays don't double-count).

When only the identifier and control keys are left and no event, the update needs no
request: the worker acks it as delivered-unchanged. ``update.record`` is what to save as
accepted once Braze takes the update (unchanged values too, with their newer time, so a
later-arriving older update is still recognised as stale).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from justuno_braze.delivery.batching import UserUpdate

AcceptedRecord = Mapping[str, tuple[Any, datetime]]

IDENTIFIER_FIELDS = frozenset({"external_id", "user_alias", "braze_id", "email", "phone"})
# Not billed and cheap to resend: always sent so Braze converges even if our record drifts.
ALWAYS_SENT = frozenset(
    {"subscription_groups", "country", "language", "email_subscribe", "push_subscribe"}
)
_PRIMARY_BY_PREFIX = {
    "email": "email",
    "phone": "phone",
    "external_id": "external_id",
    "alias": "user_alias",
    "braze_id": "braze_id",
}


def identifier_field(user_key: str, attributes: Mapping[str, Any] | None = None) -> str | None:
    """The attributes-object key that identifies this user (from ``user_key``'s prefix)."""
    prefix, sep, _ = user_key.partition(":")
    if sep and prefix in _PRIMARY_BY_PREFIX:
        return _PRIMARY_BY_PREFIX[prefix]
    if attributes is not None:  # unknown prefix: fall back to the primary present, if any
        for name in ("external_id", "user_alias", "braze_id", "email", "phone"):
            if name in attributes:
                return name
    return None


# Primary identifiers are never dropped either: without them the object is unidentifiable.
_KEPT = ALWAYS_SENT | {"external_id", "user_alias", "braze_id"}


def dedup(
    update: UserUpdate,
    accepted: AcceptedRecord | None,
    seen_events: Collection[str] = (),
) -> UserUpdate:
    """Reduce ``update`` (in place) to what Braze does not already have; returns it.

    ``accepted`` is the user's record (attribute → (value, time)); ``seen_events`` the
    idempotency keys already recorded for this connection.
    """
    attributes = update.attributes
    record: dict[str, tuple[Any, datetime]] = {}
    if attributes is not None:
        identifier = identifier_field(update.user_key, attributes)
        times = update.attribute_times
        default_at = update.occurred_at
        if not accepted:
            # Nothing recorded for this user (the common case: a new lead): every attribute
            # goes, and all but the identifier and the always-sent keys are recorded.
            for name, value in attributes.items():
                if name not in _KEPT and name != identifier and name[:1] != "_":
                    at = default_at if times is None else times.get(name, default_at)
                    record[name] = (value, at)
            substantive = bool(record) or any(
                name != identifier and name[:1] != "_" for name in attributes
            )
            update.attributes = attributes if substantive else None
            return _without_seen_events(update, record, seen_events)
        kept: dict[str, Any] = {}
        substantive = False
        for name, value in attributes.items():
            if name in _KEPT or name == identifier or name[:1] == "_":
                kept[name] = value
                if name != identifier and name[:1] != "_":
                    substantive = True
                continue
            at = default_at if times is None else times.get(name, default_at)
            previous = accepted.get(name) if accepted else None
            if previous is not None:
                old_value, old_at = previous
                if old_at > at:
                    continue  # stale: Braze already holds a newer value
                if old_value == value and type(old_value) is type(value):
                    if old_at < at:
                        record[name] = (value, at)  # same value, newer time
                    continue
            kept[name] = value
            record[name] = (value, at)
            substantive = True
        update.attributes = kept if substantive else None
    return _without_seen_events(update, record, seen_events)


def _without_seen_events(
    update: UserUpdate, record: dict[str, tuple[Any, datetime]], seen_events: Collection[str]
) -> UserUpdate:
    """Drop the events already recorded as accepted; set ``update.record``."""
    if update.events and seen_events:
        keep = [i for i, key in enumerate(update.event_keys) if key not in seen_events]
        if len(keep) != len(update.events):
            update.events = [update.events[i] for i in keep]
            update.event_keys = [update.event_keys[i] for i in keep]
    update.record = record or None
    return update
