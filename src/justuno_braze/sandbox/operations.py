"""Custom-attribute write operations of ``/users/track`` (braze-api.md §4.2–§4.4).

Set, ``null`` removes, ``""`` (strings only), ``{"inc": n}``, simple arrays with
``add``/``remove`` (unique values, move-to-end, oldest evicted at the cap), arrays of
objects with ``$add``/``$remove``/``$update``, nested objects (replace, or deep-merge with
``_merge_objects``), ``{"$time": …}`` and date-looking strings stored as times.

Nested values (objects and arrays of objects) are checked first and applied at the end of
the request: one invalid nested value drops every nested update of the request (§4.3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from justuno_braze.sandbox.catalog import AttributeCatalog, coerce, is_skip
from justuno_braze.sandbox.formats import TimeValue, format_time, parse_time
from justuno_braze.sandbox.users import Profile

MAX_STRING = 255
MAX_NESTED_BYTES = 100 * 1024
_BAD_NESTED_KEY = re.compile(r"[\s.$]")
_ARRAY_OPS = frozenset({"add", "remove"})
_OBJECT_ARRAY_OPS = frozenset({"$add", "$remove", "$update"})
_SCALARS = (str, int, float, bool)
_SCALAR_TYPES = frozenset(_SCALARS)
_DICT_ONLY = {dict}

NestedUpdate = Callable[[], None]


class Invalid(Exception):
    """A nested value Braze would refuse (raised only on the rare nested path)."""


def _time_from(value: Any) -> TimeValue | None:
    moment = parse_time(value)
    if moment is None or not 0 <= moment.year <= 3000:
        return None
    return format_time(moment)


def _nested(value: Any) -> Any:
    """Check and convert one nested value (``$time`` → time); raises ``Invalid``."""
    if isinstance(value, dict):
        if len(value) == 1 and "$time" in value:
            moment = _time_from(value["$time"])
            if moment is None:
                raise Invalid
            return moment
        out = {}
        for key, item in value.items():
            if not key or len(key) > MAX_STRING or _BAD_NESTED_KEY.search(key):
                raise Invalid
            out[key] = _nested(item)
        return out
    if isinstance(value, list):
        return [_nested(item) for item in value]
    if value is None:
        raise Invalid
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise Invalid
    return value


def _checked(value: Any) -> Any:
    converted = _nested(value)
    if len(orjson.dumps(converted)) > MAX_NESTED_BYTES:
        raise Invalid
    return converted


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


class AttributeWriter:
    """Applies custom attributes of accepted attributes objects to profiles."""

    def __init__(self, catalog: AttributeCatalog) -> None:
        self.catalog = catalog
        self.nested: list[NestedUpdate] = []
        self.nested_invalid = False

    def begin(self) -> None:
        self.nested = []
        self.nested_invalid = False

    def finish(self) -> None:
        """Apply the request's nested updates unless one of them was invalid."""
        if not self.nested_invalid:
            for update in self.nested:
                update()
        self.nested = []

    def write(self, profile: Profile, key: str, value: Any, merge: bool) -> None:
        catalog = self.catalog
        if key in catalog.blocklisted or not key or key[0] == "$":
            return
        kind = catalog.forced.get(key) if catalog.forced else None
        custom = profile.custom
        if value is None:
            custom.pop(key, None)
            return
        if kind is not None and not isinstance(value, dict):
            value = coerce(kind, value)
            if is_skip(value):
                return
        cls = type(value)
        if cls is str:
            if len(value) > MAX_STRING:
                return  # left unchanged (braze-api.md §4.3, [inference])
            if not value:
                old = custom.get(key)
                if old is not None and (type(old) is not str):
                    return  # "" does not clear a non-string attribute
            elif value[0].isdigit() or (len(value) > 20 and value[3] == " "):
                moment = parse_time(value)
                if moment is not None and 0 <= moment.year <= 3000:
                    value = format_time(moment)
        elif cls is list:
            for item in value:
                if type(item) is not str:  # not the common array of strings
                    kinds = set(map(type, value))
                    if kinds == _DICT_ONLY:
                        self._defer_set(profile, key, value)
                        return
                    if not kinds <= _SCALAR_TYPES:
                        return  # arrays are one-dimensional
                    break
            value = _unique(value)
            limit = catalog.array_limit(key)
            if len(value) > limit:
                value = value[-limit:]
        elif cls is dict:
            self._operation(profile, key, value, merge)
            return
        custom[key] = value
        if key not in catalog.known:
            catalog.note(key, value)

    def _operation(self, profile: Profile, key: str, value: dict[str, Any], merge: bool) -> None:
        keys = value.keys()
        custom = profile.custom
        if len(value) == 1 and "inc" in value:
            step = value["inc"]
            if not isinstance(step, int | float) or isinstance(step, bool):
                return
            old = custom.get(key)
            if isinstance(old, int | float) and not isinstance(old, bool):
                custom[key] = old + step
            else:
                custom[key] = step
        elif keys and keys <= _ARRAY_OPS:
            self._array_ops(profile, key, value)
        elif keys and keys <= _OBJECT_ARRAY_OPS:
            self._defer_object_array(profile, key, value, merge)
            return
        elif len(value) == 1 and "$time" in value:
            moment = _time_from(value["$time"])
            if moment is None:
                return
            custom[key] = moment
        else:
            self._defer_object(profile, key, value, merge)
            return
        if key in custom and key not in self.catalog.known:
            self.catalog.note(key, custom[key])

    def _array_ops(self, profile: Profile, key: str, ops: dict[str, Any]) -> None:
        removes, adds = ops.get("remove", []), ops.get("add", [])
        if not isinstance(removes, list) or not isinstance(adds, list):
            return
        if not all(isinstance(v, _SCALARS) for v in (*removes, *adds)):
            return
        old = profile.custom.get(key)
        array = list(old) if isinstance(old, list) and not (old and type(old[0]) is dict) else []
        if removes:
            gone = set(removes)
            array = [v for v in array if v not in gone]
        for item in adds:
            if item in array:
                array.remove(item)  # adding a present value moves it to the end
            array.append(item)
        limit = self.catalog.array_limit(key)
        if len(array) > limit:
            array = array[-limit:]  # the oldest values are dropped
        profile.custom[key] = array

    # -- nested (deferred) -------------------------------------------------------------
    def _invalid(self) -> None:
        self.nested_invalid = True

    def _defer_set(self, profile: Profile, key: str, value: Any) -> None:
        try:
            converted = _checked(value)
        except Invalid:
            return self._invalid()

        def update() -> None:
            profile.custom[key] = converted
            self.catalog.note(key, converted)

        self.nested.append(update)

    def _defer_object(self, profile: Profile, key: str, value: dict[str, Any], merge: bool) -> None:
        try:
            converted = _checked(value)
        except Invalid:
            return self._invalid()

        def update() -> None:
            old = profile.custom.get(key)
            if merge and isinstance(old, dict):
                profile.custom[key] = _deep_merge(old, converted)
            else:
                profile.custom[key] = converted
            self.catalog.note(key, profile.custom[key])

        self.nested.append(update)

    def _defer_object_array(
        self, profile: Profile, key: str, ops: dict[str, Any], merge: bool
    ) -> None:
        try:
            adds = _checked(ops.get("$add", []))
            removes = ops.get("$remove", [])
            updates = ops.get("$update", [])
            if not isinstance(adds, list) or not all(isinstance(a, dict) for a in adds):
                raise Invalid
            if not isinstance(removes, list) or not isinstance(updates, list):
                raise Invalid
            for item in (*removes, *updates):
                if not isinstance(item, dict) or not isinstance(item.get("$identifier_key"), str):
                    raise Invalid
                if "$identifier_value" not in item:
                    raise Invalid
            updates = [{**u, "$new_object": _checked(u.get("$new_object"))} for u in updates]
            if any(not isinstance(u["$new_object"], dict) for u in updates):
                raise Invalid
        except Invalid:
            return self._invalid()

        def update() -> None:
            old = profile.custom.get(key)
            items = [dict(i) for i in old] if isinstance(old, list) and _objects(old) else []
            for rule in removes:
                k, v = rule["$identifier_key"], rule["$identifier_value"]
                items = [i for i in items if i.get(k) != v]
            if merge:  # $update needs "_merge_objects": true
                for rule in updates:
                    k, v = rule["$identifier_key"], rule["$identifier_value"]
                    items = [
                        _deep_merge(i, rule["$new_object"]) if i.get(k) == v else i for i in items
                    ]
            items.extend(adds)
            if len(orjson.dumps(items)) > MAX_NESTED_BYTES:
                return
            profile.custom[key] = items
            self.catalog.note(key, items)

        self.nested.append(update)


def _unique(values: list[Any]) -> list[Any]:
    """A new list of ``values`` without repeats (first occurrences kept)."""
    if len(values) < 2:
        return values[:]
    if len(values) == 2 and values[0] is not values[1] and values[0] != values[1]:
        return values[:]
    return list(dict.fromkeys(values))


def _objects(value: list[Any]) -> bool:
    return all(isinstance(v, dict) for v in value)
