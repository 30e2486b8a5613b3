"""The sandbox's user store: profiles, their lookups, export rendering and persistence.

Lookups follow braze-api.md §2.3: by ``external_id``, by alias (one name per label), by
``braze_id``, by email (case-insensitive; several profiles may share one) and by phone
(its E.164 form when valid, else its digits). When several profiles share an email or
phone, the most recently updated one *with* an ``external_id`` wins, else the most
recently updated one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from justuno_braze.sandbox.formats import email_key, epoch_to_time, phone_index_key, revive_time
from justuno_braze.sandbox.index import SharedKeyIndex

# Fields ``/users/export/ids`` accepts in ``fields_to_export`` (braze-api.md §7.3).
EXPORT_ORDER = (
        "apps", "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
        "braze_id", "country", "created_at", "custom_attributes", "custom_events", "devices",
        "dob", "email", "email_subscribe", "external_id", "first_name", "gender", "home_city",
        "language", "last_coordinates", "last_name", "phone", "purchases", "push_subscribe",
        "push_tokens", "random_bucket", "time_zone", "total_revenue", "uninstalled_at",
        "user_aliases", "campaigns_received", "canvases_received",
)  # fmt: skip
EXPORT_FIELDS = frozenset(EXPORT_ORDER)
# Key in ``Profile.fields`` (never exported) of when the email state became unsubscribed.
UNSUBSCRIBED_AT = "email_unsubscribed_at"
_PLAIN_FIELDS = (
    "first_name", "last_name", "email", "phone", "gender", "dob", "country", "home_city",
    "language", "time_zone",
)  # fmt: skip


class Profile:
    """One Braze user profile.

    ``aliases``, ``events`` and ``purchases`` are made on first use: most profiles never
    have any, and three empty dicts are a tenth of a new user's memory."""

    __slots__ = (
        "_aliases",
        "_events",
        "_purchases",
        "braze_id",
        "created_at",
        "custom",
        "external_id",
        "fields",
        "subscriptions",
        "total_revenue",
        "updated",
    )

    def __init__(self, braze_id: str, created_at: float) -> None:
        self.braze_id = braze_id
        self.external_id: str | None = None
        self._aliases: dict[str, str] | None = None
        self.fields: dict[str, Any] = {}  # standard fields (first_name, email, …)
        self.custom: dict[str, Any] = {}  # custom attributes
        self._events: dict[str, list[Any]] | None = None
        self._purchases: dict[str, list[Any]] | None = None
        self.subscriptions: dict[str, str] = {}  # group id -> subscribed|unsubscribed
        self.total_revenue = 0.0
        self.created_at = created_at
        self.updated = 0  # store sequence number of the last change

    @property
    def aliases(self) -> dict[str, str]:
        """alias_label -> alias_name"""
        if self._aliases is None:
            self._aliases = {}
        return self._aliases

    @aliases.setter
    def aliases(self, value: dict[str, str]) -> None:
        self._aliases = value

    @property
    def events(self) -> dict[str, list[Any]]:
        """name -> [first, last, count]"""
        if self._events is None:
            self._events = {}
        return self._events

    @events.setter
    def events(self, value: dict[str, list[Any]]) -> None:
        self._events = value

    @property
    def purchases(self) -> dict[str, list[Any]]:
        """product_id -> [first, last, count]"""
        if self._purchases is None:
            self._purchases = {}
        return self._purchases

    @purchases.setter
    def purchases(self, value: dict[str, list[Any]]) -> None:
        self._purchases = value

    def __repr__(self) -> str:
        return f"Profile(braze_id={self.braze_id!r}, external_id={self.external_id!r})"


class UserStore:
    """All profiles of the sandbox's one workspace, with their lookup indexes."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._prefix = secrets.token_hex(4)
        self._seq = 0
        # Profiles made here, in the order they were made: a braze_id made here is the
        # prefix and the profile's position in this list (a list costs 8 bytes per user, a
        # dict keyed by number ~100 and its growth), None where one was deleted. Profiles
        # read from ``--state``, by braze_id.
        self._created: list[Profile | None] = []
        self._deleted = 0
        self._loaded: dict[str, Profile] = {}
        self._by_external: dict[str, Profile] = {}
        self._by_alias: dict[tuple[str, str], Profile] = {}
        self._by_email: SharedKeyIndex[Profile] = SharedKeyIndex()
        self._by_phone: SharedKeyIndex[Profile] = SharedKeyIndex()

    def __len__(self) -> int:
        return len(self._created) - self._deleted + len(self._loaded)

    def __iter__(self) -> Iterator[Profile]:
        return iter([*self._loaded.values(), *(p for p in self._created if p is not None)])

    # -- lookups ---------------------------------------------------------------------
    def by_external_id(self, external_id: str) -> Profile | None:
        return self._by_external.get(external_id)

    def by_alias(self, label: str, name: str) -> Profile | None:
        return self._by_alias.get((label, name))

    def by_braze_id(self, braze_id: str) -> Profile | None:
        profile = self._loaded.get(braze_id)
        if profile is None:
            position = self._position(braze_id)
            profile = self._created[position] if position >= 0 else None
        return profile

    def _position(self, braze_id: str) -> int:
        """Where the profile made here with this braze_id is in ``_created`` (-1: none)."""
        if not braze_id.startswith(self._prefix):
            return -1
        try:
            position = int(braze_id[len(self._prefix) :], 16)
        except ValueError:
            return -1
        created = self._created
        if not 0 <= position < len(created):
            return -1
        profile = created[position]
        if profile is None or profile.braze_id != braze_id:
            return -1  # deleted, or int() was lenient ("_", "+", spaces): only the exact id
        return position

    def all_by_email(self, email: str) -> list[Profile]:
        return self._by_email.all(email_key(email))

    def all_by_phone(self, phone: str) -> list[Profile]:
        return self._by_phone.all(phone_index_key(phone))

    def other_by_email(self, email: str, profile: Profile) -> Profile | None:
        """The latest other profile with this email."""
        return self._by_email.latest_other(email_key(email), profile)

    def by_email(self, email: str) -> Profile | None:
        return self._by_email.pick(email_key(email), _preferred)

    def by_phone(self, phone: str) -> Profile | None:
        return self._by_phone.pick(phone_index_key(phone), _preferred)

    # -- changes ---------------------------------------------------------------------
    def touch(self, profile: Profile) -> None:
        self._seq += 1
        profile.updated = self._seq

    def create(self) -> Profile:
        seq = self._seq = self._seq + 1
        created = self._created
        profile = Profile(f"{self._prefix}{len(created):016x}", self._clock())
        profile.updated = seq
        created.append(profile)
        return profile

    def by_email_or_new(self, email: str, create: bool) -> Profile | None:
        """``by_email``; when nobody has the email and ``create``, a new profile with it
        (``create`` then ``set_email``, the key computed once)."""
        key = email_key(email)
        profile = self._by_email.pick(key, _preferred)
        if profile is None and create:
            profile = self.create()
            profile.fields["email"] = email
            self._by_email.add_new(key, profile)
        return profile

    def set_external_id(self, profile: Profile, external_id: str) -> None:
        if profile.external_id is not None:
            self._by_external.pop(profile.external_id, None)
        profile.external_id = external_id
        self._by_external[external_id] = profile

    def add_alias(self, profile: Profile, label: str, name: str) -> bool:
        """Attach an alias; False when the label is taken on this profile or the alias
        belongs to someone else (one ``alias_name`` per ``alias_label``)."""
        if label in profile.aliases or (label, name) in self._by_alias:
            return False
        profile.aliases[label] = name
        self._by_alias[(label, name)] = profile
        return True

    def set_email(self, profile: Profile, email: str | None) -> None:
        _reindex(self._by_email, profile, profile.fields.get("email"), email, email_key)
        _set(profile.fields, "email", email)

    def set_email_subscribe(self, profile: Profile, state: str | None) -> None:
        """Set the global email state; a change *to* ``unsubscribed`` is stamped with the
        clock in ``fields[UNSUBSCRIBED_AT]`` so ``GET /email/unsubscribes`` can filter by
        date (re-sending the same state keeps the first stamp, as nothing changed)."""
        fields = profile.fields
        if state == "unsubscribed":
            if fields.get("email_subscribe") != "unsubscribed":
                fields[UNSUBSCRIBED_AT] = self._clock()
        else:
            fields.pop(UNSUBSCRIBED_AT, None)
        _set(fields, "email_subscribe", state)

    def set_phone(self, profile: Profile, phone: str | None) -> Profile | None:
        """Set (or remove) the phone; returns the latest other profile with that number."""
        fields = profile.fields
        old = fields.get("phone")
        if old:
            _reindex(self._by_phone, profile, old, None, phone_index_key)
        if phone is None:
            fields.pop("phone", None)
            return None
        fields["phone"] = phone
        if not phone:
            return None  # stored, but nobody is found by an empty number
        return self._by_phone.add(phone_index_key(phone), profile)

    def delete(self, profile: Profile) -> None:
        if self._loaded.get(profile.braze_id) is profile:
            del self._loaded[profile.braze_id]
        position = self._position(profile.braze_id)
        if position >= 0 and self._created[position] is profile:
            self._created[position] = None
            self._deleted += 1
        if profile.external_id is not None:
            self._by_external.pop(profile.external_id, None)
        for label, name in profile.aliases.items():
            self._by_alias.pop((label, name), None)
        _reindex(self._by_email, profile, profile.fields.get("email"), None, email_key)
        _reindex(self._by_phone, profile, profile.fields.get("phone"), None, phone_index_key)

    def merge(self, source: Profile, target: Profile) -> None:
        """``/users/identify``: copy what only ``source`` has onto ``target``, drop source."""
        self.delete(source)
        for key, value in source.fields.items():
            if key not in target.fields:
                if key == "email":
                    self.set_email(target, value)
                elif key == "phone":
                    self.set_phone(target, value)
                else:
                    target.fields[key] = value
        for key, value in source.custom.items():
            target.custom.setdefault(key, value)
        for label, name in source.aliases.items():
            self.add_alias(target, label, name)
        for table_name in ("events", "purchases"):
            theirs: dict[str, list[Any]] = getattr(source, table_name)
            ours: dict[str, list[Any]] = getattr(target, table_name)
            for name, (first, last, count) in theirs.items():
                if name in ours:
                    mine = ours[name]
                    ours[name] = [min(mine[0], first), max(mine[1], last), mine[2] + count]
                else:
                    ours[name] = [first, last, count]
        for group_id, state in source.subscriptions.items():
            target.subscriptions.setdefault(group_id, state)
        target.total_revenue += source.total_revenue
        self.touch(target)

    # -- export ----------------------------------------------------------------------
    def export(self, profile: Profile, fields: Iterable[str] | None) -> dict[str, Any]:
        """A user as ``/users/export/ids`` shows it: only requested, non-empty fields."""
        wanted = EXPORT_ORDER if fields is None else fields
        out: dict[str, Any] = {}
        for name in wanted:
            value = self._export_field(profile, name)
            if value is not None and value != [] and value != {}:
                out[name] = value
        return out

    def _export_field(self, profile: Profile, name: str) -> Any:
        if name in _PLAIN_FIELDS:
            return profile.fields.get(name)
        if name == "external_id":
            return profile.external_id
        if name == "braze_id":
            return profile.braze_id
        if name == "user_aliases":
            return [{"alias_name": n, "alias_label": lb} for lb, n in profile.aliases.items()]
        if name == "custom_attributes":
            return dict(profile.custom)
        if name in ("email_subscribe", "push_subscribe"):
            return profile.fields.get(name, "subscribed")  # a new profile is subscribed
        if name == "created_at":
            return epoch_to_time(profile.created_at)
        if name == "custom_events":
            return [
                {"name": n, "first": f, "last": la, "count": c}
                for n, (f, la, c) in sorted(profile.events.items())
            ]
        if name == "purchases":
            return [
                {"name": n, "first": f, "last": la, "count": c}
                for n, (f, la, c) in sorted(profile.purchases.items())
            ]
        if name == "total_revenue":
            return round(profile.total_revenue, 2) if profile.purchases else None
        if name == "last_coordinates":
            location = profile.fields.get("current_location")
            return [location["longitude"], location["latitude"]] if location else None
        if name == "push_tokens":
            return profile.fields.get("push_tokens")
        if name == "random_bucket":
            return int(profile.braze_id[-4:], 16) % 10000
        return None  # apps, devices, campaigns… are not emulated

    # -- persistence -----------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write every profile to ``path`` atomically (JSON)."""
        data = [
            {
                "braze_id": p.braze_id,
                "external_id": p.external_id,
                "aliases": p._aliases or {},  # (not made just to save them)
                "fields": p.fields,
                "custom": p.custom,
                "events": p._events or {},
                "purchases": p._purchases or {},
                "subscriptions": p.subscriptions,
                "total_revenue": p.total_revenue,
                "created_at": p.created_at,
                "updated": p.updated,
            }
            for p in sorted(self, key=lambda p: p.updated)
        ]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps({"version": 1, "users": data}))
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        """Read profiles written by ``save`` (a missing file is an empty store)."""
        if not path.exists():
            return
        document = orjson.loads(path.read_bytes())
        for item in document["users"]:
            profile = Profile(item["braze_id"], item["created_at"])
            self._loaded[profile.braze_id] = profile
            if item["external_id"] is not None:
                self.set_external_id(profile, item["external_id"])
            for label, name in item["aliases"].items():
                self.add_alias(profile, label, name)
            fields = dict(item["fields"])
            self.set_email(profile, fields.pop("email", None))
            self.set_phone(profile, fields.pop("phone", None))
            profile.fields.update(fields)
            profile.custom = {k: _revive(v) for k, v in item["custom"].items()}
            profile.events = item["events"]
            profile.purchases = item["purchases"]
            profile.subscriptions = item["subscriptions"]
            profile.total_revenue = item["total_revenue"]
            profile.updated = item["updated"]
            self._seq = max(self._seq, profile.updated)


def _preferred(candidates: list[Profile]) -> Profile:
    """Of several profiles sharing an email or phone: the latest updated one with an
    ``external_id``, else the latest updated one."""
    identified = [p for p in candidates if p.external_id is not None]
    return max(identified or candidates, key=lambda p: p.updated)


def _set(fields: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        fields.pop(key, None)
    else:
        fields[key] = value


def _reindex(
    index: SharedKeyIndex[Profile],
    profile: Profile,
    old: str | None,
    new: str | None,
    key_of: Callable[[str], str],
) -> None:
    old_key = key_of(old) if old else None
    new_key = key_of(new) if new else None
    if old_key == new_key:
        return
    if old_key:
        index.remove(old_key, profile)
    if new_key:
        index.add(new_key, profile)


def _revive(value: Any) -> Any:
    if isinstance(value, str):
        return revive_time(value)
    if isinstance(value, list):
        return [_revive(v) for v in value]
    if isinstance(value, dict):
        return {k: _revive(v) for k, v in value.items()}
    return value
