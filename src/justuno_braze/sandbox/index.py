"""A lookup index of the user store: a key (an email, a phone) → the profiles that have it.

Profiles under one key keep the order they were added in. Nearly every key belongs to a
single profile, which is then stored bare; a list is made only when a second profile shares
the key. With millions of users that saves, per user and index, two allocations, about
100 bytes and two objects the garbage collector would otherwise scan again and again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class SharedKeyIndex(Generic[T]):
    """``key → items`` where an item is stored bare until its key is shared."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, T | list[T]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def all(self, key: str) -> list[T]:
        """Every item under ``key``, oldest first (a new list)."""
        entry = self._entries.get(key)
        if entry is None:
            return []
        if type(entry) is list:
            return list(entry)
        return [entry]  # type: ignore[list-item]  # a bare item

    def pick(self, key: str, choose: Callable[[list[T]], T]) -> T | None:
        """The one item under ``key``; ``choose`` decides between several; None if none."""
        entry = self._entries.get(key)
        if type(entry) is list:
            return choose(entry)
        return entry  # type: ignore[return-value]  # a bare item or None (no cast: hot)

    def latest_other(self, key: str, item: T) -> T | None:
        """The most recently added item under ``key`` that is not ``item``."""
        entry = self._entries.get(key)
        if type(entry) is not list:
            return None if entry is None or entry is item else cast(T, entry)
        for other in reversed(cast("list[T]", entry)):
            if other is not item:
                return other
        return None

    def add_new(self, key: str, item: T) -> None:
        """File ``item`` under a key nothing is filed under (``pick`` said None): one
        probe of the table instead of two."""
        self._entries[key] = item

    def add(self, key: str, item: T) -> T | None:
        """File ``item`` under ``key``; returns the latest item filed there before, if any."""
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            entries[key] = item
            return None
        if type(entry) is list:
            previous = entry[-1] if entry else None
            entry.append(item)
            return previous
        entries[key] = [entry, item]  # type: ignore[list-item]  # the key is now shared
        return entry  # type: ignore[return-value]

    def remove(self, key: str, item: T) -> None:
        """Take ``item`` out from under ``key`` (no-op when it is not there)."""
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            return
        if type(entry) is not list:
            if entry is item:
                del entries[key]
            return
        left = [other for other in entry if other is not item]
        if len(left) > 1:
            entry[:] = left
        elif left:
            entries[key] = left[0]
        else:
            del entries[key]
