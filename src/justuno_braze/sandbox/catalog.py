"""The workspace's custom-attribute catalog behind ``GET /custom_attributes``.

It holds the attributes given with ``--custom-attributes`` plus every attribute first seen
through ``/users/track`` (as Braze does, with an ``(Automatically Detected)`` type). It
knows which names are blocklisted (not processed, braze-api.md §4.5) and which have a
forced type, with Braze's coercion rules (§4.4). Pages hold 50 names sorted A–Z (§5).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from justuno_braze.sandbox.formats import TimeValue, format_time, parse_time

PAGE_SIZE = 50
DETECTED = " (Automatically Detected)"
_KINDS = {
    "string": "string",
    "text": "string",
    "number": "number",
    "integer": "number",
    "float": "number",
    "boolean": "boolean",
    "date": "time",
    "time": "time",
    "array": "array",
    "object": "object",
    "object array": "object_array",
    "object_array": "object_array",
    "array of objects": "object_array",
}
_TRUE = frozenset({"1", "true", "t"})
_FALSE = frozenset({"0", "false", "f"})
_SKIP = object()


def kind_of(data_type: str) -> str | None:
    """Lenient ``data_type`` parsing: ``"Number (Automatically Detected)"`` → ``number``."""
    text = data_type.strip().lower()
    if text.endswith(DETECTED.lower()):
        text = text[: -len(DETECTED)].strip()
    return _KINDS.get(text)


def detected_type(value: Any) -> str:
    if isinstance(value, TimeValue):
        name = "Date"
    elif isinstance(value, bool):
        name = "Boolean"
    elif isinstance(value, int | float):
        name = "Number"
    elif isinstance(value, str):
        name = "String"
    elif isinstance(value, list):
        name = "Object Array" if value and isinstance(value[0], dict) else "Array"
    else:
        name = "Object"
    return name + DETECTED


def coerce(kind: str, value: Any) -> Any:
    """Coerce an incoming value to a forced type; returns ``SKIP`` when it cannot."""
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return _SKIP
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return _SKIP
            return int(number) if number.is_integer() and "." not in value else number
        return _SKIP
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value).lower() if isinstance(value, bool) else str(value)
        return _SKIP
    if kind == "time":
        if isinstance(value, TimeValue):
            return value
        moment = parse_time(value)
        return _SKIP if moment is None else format_time(moment)
    if kind in ("array", "object_array"):
        return value if isinstance(value, list | dict) else _SKIP
    if kind == "object":
        return value if isinstance(value, dict) else _SKIP
    return value


def is_skip(value: Any) -> bool:
    return value is _SKIP


class AttributeCatalog:
    """Configured and detected custom attributes of the workspace."""

    def __init__(self, configured: Iterable[Mapping[str, Any]], array_max_length: int) -> None:
        self._configured = {item["name"]: dict(item) for item in configured}
        self._detected: dict[str, dict[str, Any]] = {}
        self.array_max_length = array_max_length
        self.blocklisted = frozenset(
            name for name, item in self._configured.items() if item.get("status") == "Blocklisted"
        )
        self.forced: dict[str, str] = {}
        self.array_lengths: dict[str, int] = {}
        for name, item in self._configured.items():
            data_type = str(item.get("data_type") or "")
            kind = kind_of(data_type)
            if kind is not None and not data_type.lower().endswith(DETECTED.lower()):
                self.forced[name] = kind
            if isinstance(item.get("array_length"), int) and kind == "array":
                self.array_lengths[name] = item["array_length"]
        self.known: set[str] = set(self._configured)
        # names that need the slow path: blocklisted or with a forced type
        self.special = frozenset(self.blocklisted | set(self.forced))
        self.plain: set[str] = self.known - self.special  # known, and not special

    def note(self, name: str, value: Any) -> None:
        """Record an attribute first seen through ``/users/track``."""
        if name in self.known:
            return
        self.known.add(name)
        if name not in self.special:
            self.plain.add(name)
        data_type = detected_type(value)
        self._detected[name] = {
            "name": name,
            "description": None,
            "data_type": data_type,
            "array_length": self.array_max_length if data_type.startswith("Array") else None,
            "status": "Active",
            "tag_names": [],
        }

    def array_limit(self, name: str) -> int:
        return self.array_lengths.get(name, self.array_max_length)

    def all(self) -> list[dict[str, Any]]:
        items = [*self._configured.values(), *self._detected.values()]
        return sorted(items, key=lambda item: (item["name"].casefold(), item["name"]))

    def page(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of 50 and the cursor of the next page (None on the last one).

        The cursor is the base64url of the first name on the page it points to, so a page
        stays correct when attributes are added between calls. Raises ``ValueError`` for a
        cursor that is not one of ours.
        """
        items = self.all()
        start = 0
        if cursor is not None:
            try:
                name = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode()
            except (binascii.Error, UnicodeError, ValueError):
                raise ValueError("cursor is not valid") from None
            if not name:
                raise ValueError("cursor is not valid")
            key = (name.casefold(), name)
            while (
                start < len(items) and (items[start]["name"].casefold(), items[start]["name"]) < key
            ):
                start += 1
        chunk = [dict(item) for item in items[start : start + PAGE_SIZE]]
        following = start + PAGE_SIZE
        if following >= len(items):
            return chunk, None
        encoded = base64.urlsafe_b64encode(items[following]["name"].encode()).decode()
        return chunk, encoded.rstrip("=")
