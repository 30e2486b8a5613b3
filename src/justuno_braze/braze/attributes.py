"""Braze's custom-attribute schema (``GET /custom_attributes``) and value coercion.

``AttributeSchema.from_api`` reads the attribute list leniently (braze-api.md §5: Braze
sends ``data_type`` values such as ``"String (Automatically Detected)"``, ``"Object Array"``
or ``object_array``, and ``status`` may be missing). ``coerce(value, attr)`` turns a Justuno
property value into what Braze accepts for that attribute type, or raises
``Unnormalizable`` with a reason that names no personal data.

Decisions (the seed is silent):
- String: surrounding whitespace is trimmed; longer than 255 characters is refused, never
  truncated (a cut value is wrong data, and Braze itself leaves the attribute unchanged);
  empty is refused (``""`` would blank a value Braze holds). Numbers and booleans become
  their text; a list of scalars is joined with ``", "``.
- Array: a list gives an array of unique strings (first occurrence kept, order kept); a
  scalar a one-item array; a text with commas is split on the commas (lead exports flatten
  checkboxes and multi-selects to ``"yoga, travel"``). More items than ``array_length``,
  or over 100 KB, is refused.
- Time: ISO-8601 (a zone-less time is UTC, as Braze reads it) →
  ``YYYY-MM-DDTHH:MM:SS[.fff]Z``; a date alone stays ``YYYY-MM-DD``; ``MM/DD/YYYY`` is
  read as Braze does. Numbers are refused (seconds or milliseconds is a guess).
- Number: ints and finite floats, and texts that are plain decimal numbers (no thousands
  separators, no decimal commas); booleans are not numbers.
- Boolean: Braze's forced-type rules (true/false, t/f, 1/0) plus yes/no, y/n, on/off,
  case-insensitive.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from justuno_braze.errors import InputError
from justuno_braze.normalize import Unnormalizable

JSON = Any  # a JSON value (str, int, float, bool, None, list, dict)
MAX_STRING = 255
MAX_ARRAY_BYTES = 100 * 1024
MAX_YEAR = 3000


class AttributeType(Enum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIME = "time"
    ARRAY = "array"
    OBJECT = "object"
    OBJECT_ARRAY = "object_array"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """How Braze's dashboard names the type."""
        return _LABELS[self]


_LABELS = {
    AttributeType.STRING: "String",
    AttributeType.NUMBER: "Number",
    AttributeType.BOOLEAN: "Boolean",
    AttributeType.TIME: "Time",
    AttributeType.ARRAY: "Array",
    AttributeType.OBJECT: "Object",
    AttributeType.OBJECT_ARRAY: "Array of objects",
    AttributeType.UNKNOWN: "unknown type",
}

_TYPE_WORDS: Mapping[str, AttributeType] = {
    **dict.fromkeys(("string", "text"), AttributeType.STRING),
    **dict.fromkeys(("number", "integer", "int", "float", "double"), AttributeType.NUMBER),
    **dict.fromkeys(("boolean", "bool"), AttributeType.BOOLEAN),
    **dict.fromkeys(("time", "date", "datetime", "date time", "timestamp"), AttributeType.TIME),
    **dict.fromkeys(("array", "array of strings", "string array", "list"), AttributeType.ARRAY),
    **dict.fromkeys(
        ("object", "nested object", "nested custom attribute", "hash"), AttributeType.OBJECT
    ),
    **dict.fromkeys(
        (
            "object array",
            "array of objects",
            "array of object",
            "objects array",
            "array object",
            "array objects",
        ),
        AttributeType.OBJECT_ARRAY,
    ),
}
_SUFFIX = re.compile(r"\(.*?\)")
_SEPARATORS = re.compile(r"[\s_\-]+")


def parse_data_type(raw: object) -> AttributeType:
    """Braze's ``data_type`` text → ``AttributeType`` (unknown spellings → ``UNKNOWN``)."""
    if not isinstance(raw, str):
        return AttributeType.UNKNOWN
    words = _SEPARATORS.sub(" ", _SUFFIX.sub(" ", raw)).strip().lower()
    return _TYPE_WORDS.get(words, AttributeType.UNKNOWN)


@dataclass(frozen=True, slots=True)
class CustomAttribute:
    """One custom attribute as Braze describes it."""

    name: str
    type: AttributeType
    raw_type: str | None = None
    status: str | None = None
    array_length: int | None = None

    @property
    def blocklisted(self) -> bool:
        return self.status is not None and self.status.strip().lower() in (
            "blocklisted",
            "blacklisted",
        )


class AttributeSchema:
    """The workspace's custom attributes by (case-sensitive) name."""

    __slots__ = ("_by_name",)

    def __init__(self, attributes: Mapping[str, CustomAttribute] | None = None) -> None:
        self._by_name: dict[str, CustomAttribute] = dict(attributes or {})

    @classmethod
    def from_api(cls, items: object) -> AttributeSchema:
        """Read ``GET /custom_attributes``'s ``attributes`` list (or the whole body)."""
        if isinstance(items, Mapping) and "attributes" in items:
            items = items["attributes"]
        if not isinstance(items, list | tuple):
            raise InputError(
                "must be a list of attributes as GET /custom_attributes returns them",
                field="custom_attributes",
            )
        by_name: dict[str, CustomAttribute] = {}
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise InputError("must be an object", field=f"custom_attributes[{i}]")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise InputError("must be a non-empty text", field=f"custom_attributes[{i}].name")
            raw_type = item.get("data_type")
            status = item.get("status")
            by_name[name] = CustomAttribute(
                name=name,
                type=parse_data_type(raw_type),
                raw_type=raw_type if isinstance(raw_type, str) else None,
                status=status if isinstance(status, str) else None,
                array_length=_array_length(item.get("array_length")),
            )
        return cls(by_name)

    def get(self, name: str) -> CustomAttribute | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[CustomAttribute]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"AttributeSchema({len(self._by_name)} attributes)"


def _array_length(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v > 0 else None
    if isinstance(v, str) and v.strip().isdigit():
        n = int(v.strip())
        return n if n > 0 else None
    return None


def coerce(value: JSON, attr: CustomAttribute | None) -> JSON:
    """``value`` as Braze accepts it for ``attr`` (``None``: an attribute Braze doesn't know).

    Raises ``Unnormalizable`` (reason without the value itself) when it cannot be sent.
    """
    if value is None:
        raise Unnormalizable("no value")
    kind = AttributeType.UNKNOWN if attr is None else attr.type
    if kind is AttributeType.ARRAY:
        return _to_array(value, attr.array_length if attr is not None else None)
    return _COERCERS[kind](value)


def _describe(v: object) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a text"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, Mapping):
        return "an object"
    return f"a {type(v).__name__}"


def _to_string(v: JSON) -> str:
    if isinstance(v, str):
        text = v.strip()
    elif isinstance(v, bool):
        text = "true" if v else "false"
    elif isinstance(v, int):
        text = str(v)
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise Unnormalizable("not a finite number")
        text = repr(v)
    elif isinstance(v, list | tuple) and all(_is_scalar(x) for x in v):
        text = ", ".join(_to_string(x) for x in v if not (isinstance(x, str) and not x.strip()))
    else:
        raise Unnormalizable(f"{_describe(v)} cannot be sent as a String")
    if not text:
        raise Unnormalizable("empty text")
    if len(text) > MAX_STRING:
        raise Unnormalizable(f"text of {len(text)} characters; Braze strings hold at most 255")
    return text


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def _to_number(v: JSON) -> int | float:
    if isinstance(v, bool):
        raise Unnormalizable("a boolean is not a Number")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Unnormalizable("not a finite number")
        return v
    if isinstance(v, str):
        text = v.strip()
        if _INTEGER.match(text):
            return int(text)
        if _NUMBER.match(text):
            number = float(text)
            if math.isfinite(number):
                return number
        raise Unnormalizable("a text that is not a plain number (like 12 or 3.5)")
    raise Unnormalizable(f"{_describe(v)} cannot be sent as a Number")


_TRUE = frozenset(("true", "t", "1", "yes", "y", "on"))
_FALSE = frozenset(("false", "f", "0", "no", "n", "off"))


def _to_boolean(v: JSON) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        word = v.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise Unnormalizable("a text that is not true/false, yes/no, t/f or 1/0")
    raise Unnormalizable(f"{_describe(v)} cannot be sent as a Boolean")


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def braze_time(moment: datetime) -> str:
    """An aware or naive (read as UTC) datetime as ``YYYY-MM-DDTHH:MM:SS[.fff]Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _to_time(v: JSON) -> str:
    if isinstance(v, datetime):
        moment = v
    elif isinstance(v, date):
        return _check_year(v.year, v.isoformat())
    elif isinstance(v, str):
        text = v.strip()
        try:
            if _DATE_ONLY.match(text):
                return _check_year(int(text[:4]), date.fromisoformat(text).isoformat())
            us = _US_DATE.match(text)
            if us:
                month, day, year = (int(g) for g in us.groups())
                return _check_year(year, date(year, month, day).isoformat())
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Unnormalizable("a text that is not an ISO-8601 date or time") from None
    else:
        raise Unnormalizable(f"{_describe(v)} cannot be sent as a Time")
    return _check_year(moment.year, braze_time(moment))


def _check_year(year: int, text: str) -> str:
    if year > MAX_YEAR:
        raise Unnormalizable(f"a date after the year {MAX_YEAR}")
    return text


def _is_scalar(v: object) -> bool:
    return isinstance(v, str | int | float) and not (isinstance(v, float) and not math.isfinite(v))


def _to_array(v: JSON, max_items: int | None) -> list[str]:
    if isinstance(v, str):
        items: list[Any] = v.split(",") if "," in v else [v]
    elif isinstance(v, list | tuple):
        items = list(v)
    elif _is_scalar(v):
        items = [v]
    else:
        raise Unnormalizable(f"{_describe(v)} cannot be sent as an Array")
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for item in items:
        if not _is_scalar(item):
            raise Unnormalizable(f"a list holding {_describe(item)}; Braze arrays hold texts")
        if isinstance(item, str) and not item.strip():
            continue
        text = _to_string(item)
        if text not in seen:
            seen.add(text)
            out.append(text)
            size += len(text.encode()) + 3
    if not out:
        raise Unnormalizable("an empty list")
    if max_items is not None and len(out) > max_items:
        raise Unnormalizable(f"{len(out)} items; this Braze array holds at most {max_items}")
    if size > MAX_ARRAY_BYTES:
        raise Unnormalizable("an array over Braze's 100 KB limit")
    return out


def _to_unknown(v: JSON) -> JSON:
    """An attribute Braze doesn't know: sent as-is when it is a scalar or list of scalars."""
    if isinstance(v, str):
        return _to_string(v)
    if isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        return _to_number(v)
    if isinstance(v, list | tuple):
        return _to_array(v, None)
    raise Unnormalizable(
        f"{_describe(v)}; only texts, numbers, booleans and lists of them are sent to an "
        "attribute Braze does not know"
    )


def _refuse_object(v: JSON) -> JSON:
    raise Unnormalizable("Sync Another Property cannot write Object or Array of objects attributes")


_COERCERS: Mapping[AttributeType, Callable[[JSON], JSON]] = {
    AttributeType.STRING: _to_string,
    AttributeType.NUMBER: _to_number,
    AttributeType.BOOLEAN: _to_boolean,
    AttributeType.TIME: _to_time,
    AttributeType.UNKNOWN: _to_unknown,
    AttributeType.OBJECT: _refuse_object,
    AttributeType.OBJECT_ARRAY: _refuse_object,
}
