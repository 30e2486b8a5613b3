"""``POST /users/track``: the request-level rules (braze-api.md §2).

Per-array cap of 75 (400 ``Max Input Length Exceeded``) and the optional combined cap;
each object is identified (one primary identifier, else email, else a valid phone), checked
and applied in the order attributes → events → purchases; a bad object becomes a minor
error ``{type, input_array, index}`` and the others still apply; a request with no valid
object is a 400. Returns ``(status, body)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from justuno_braze.sandbox.catalog import AttributeCatalog
from justuno_braze.sandbox.formats import (
    CURRENCY,
    format_time,
    parse_time,
    valid_email,
    valid_phone,
)
from justuno_braze.sandbox.operations import MAX_STRING, AttributeWriter
from justuno_braze.sandbox.standard_fields import CONTROL_KEYS, StandardFields
from justuno_braze.sandbox.users import Profile, UserStore

MAX_PER_ARRAY = 75
MAX_EXTERNAL_ID_BYTES = 987
MAX_QUANTITY = 100
ARRAYS = ("attributes", "events", "purchases")
NO_VALID_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
MAX_INPUT = "Max Input Length Exceeded"
IDENTIFIER_REQUIRED = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
ONE_PRIMARY = "only one of 'external_id', 'braze_id' or 'user_alias' may be provided"
INVALID_PROPERTIES = "Invalid 'properties' field"
EVENT_RESERVED = frozenset({"time", "event_name"})
PURCHASE_RESERVED = frozenset({"time", "product_id", "quantity", "event_name", "price", "currency"})

_CUSTOM = object()  # appliers-table sentinels: a custom attribute, a control key
_CONTROL = object()

# An identified target: (kind, lookup value) with kind external_id|user_alias|braze_id|email|phone.
Target = tuple[str, Any]


def identify(obj: dict[str, Any]) -> Target | str:
    """The object's lookup identifier (braze-api.md §2.3), or a minor-error type."""
    if "external_id" not in obj and "user_alias" not in obj and "braze_id" not in obj:
        email = obj.get("email")
        if email is not None:  # secondary identifiers: email wins over phone
            return ("email", email) if valid_email(email) else "EMAIL_BAD_FORMAT"
        phone = obj.get("phone")
        if phone is not None:
            key = valid_phone(phone) if type(phone) is str else None
            return ("phone", key) if key is not None else "'phone' is not valid"
        return IDENTIFIER_REQUIRED
    external_id = obj.get("external_id")
    alias = obj.get("user_alias")
    braze_id = obj.get("braze_id")
    if (external_id is not None) + (alias is not None) + (braze_id is not None) > 1:
        return ONE_PRIMARY
    if external_id is not None:
        if type(external_id) is not str or not external_id:
            return "'external_id' is not valid"
        if len(external_id) > MAX_EXTERNAL_ID_BYTES // 4 and (
            len(external_id.encode()) > MAX_EXTERNAL_ID_BYTES
        ):
            return "EXTERNAL_USER_ID_TOO_LARGE"
        return ("external_id", external_id)
    if alias is not None:
        name = alias.get("alias_name") if type(alias) is dict else None
        label = alias.get("alias_label") if type(alias) is dict else None
        if type(name) is not str or type(label) is not str or not name or not label:
            return "'user_alias' is not valid"
        return ("user_alias", (label, name))
    if braze_id is not None:
        if type(braze_id) is not str or not braze_id:
            return "'braze_id' is not valid"
        return ("braze_id", braze_id)
    return IDENTIFIER_REQUIRED  # all three primaries are null


def _properties_error(properties: Any, reserved: frozenset[str]) -> str | None:
    if properties is None:
        return None
    if type(properties) is not dict:
        return INVALID_PROPERTIES
    for key, value in properties.items():
        if not key or len(key) > 255 or key[0] == "$" or key in reserved:
            return INVALID_PROPERTIES
        if type(value) is str and len(value) > 255:
            return INVALID_PROPERTIES
    return None


class Tracker:
    """Applies ``/users/track`` bodies to the user store."""

    def __init__(
        self,
        users: UserStore,
        catalog: AttributeCatalog,
        groups: Mapping[str, str],
        clock: Callable[[], float],
        combined_cap: int | None = None,
    ) -> None:
        self.users = users
        self.clock = clock
        self.combined_cap = combined_cap
        self.standard = StandardFields(users, groups)
        self.writer = AttributeWriter(catalog)
        self._appliers: dict[str, Any] = {
            **dict.fromkeys(CONTROL_KEYS, _CONTROL),
            **self.standard.appliers(),
        }

    def track(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        arrays: dict[str, list[Any]] = {}
        for name in ARRAYS:
            items = body.get(name)
            if items is None:
                continue
            if type(items) is not list:
                return 400, {"message": f"'{name}' must be an array"}
            if len(items) > MAX_PER_ARRAY:
                return 400, {"message": MAX_INPUT}
            arrays[name] = items
        cap = self.combined_cap
        if cap is not None and sum(len(items) for items in arrays.values()) > cap:
            return 400, {"message": MAX_INPUT}
        errors: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        now = self.clock()
        if "attributes" in arrays:
            writer = self.writer
            writer.begin()
            counts["attributes_processed"] = self._each(
                arrays["attributes"], "attributes", errors, self._attributes
            )
            writer.finish()
        if "events" in arrays:
            counts["events_processed"] = self._each(
                arrays["events"], "events", errors, lambda o: self._event(o, now)
            )
        if "purchases" in arrays:
            counts["purchases_processed"] = self._each(
                arrays["purchases"], "purchases", errors, lambda o: self._purchase(o, now)
            )
        if not any(counts.values()):
            return 400, {"message": NO_VALID_DATA, "errors": errors}
        result: dict[str, Any] = {"message": "success", **counts}
        if errors:
            result["errors"] = errors
        return 201, result

    @staticmethod
    def _each(
        items: list[Any],
        array: str,
        errors: list[dict[str, Any]],
        handle: Callable[[dict[str, Any]], str | None],
    ) -> int:
        accepted = 0
        for index, obj in enumerate(items):
            error = handle(obj) if type(obj) is dict else f"'{array}' entries must be objects"
            if error is None:
                accepted += 1
            else:
                errors.append({"type": error, "input_array": array, "index": index})
        return accepted

    def _profile(self, target: Target, obj: dict[str, Any], create: bool) -> Profile | None:
        """Find the target's profile; create it when allowed (never by ``braze_id``)."""
        kind, value = target
        users = self.users
        if kind == "email":
            return users.by_email_or_new(value, create)
        if kind == "external_id":
            profile = users.by_external_id(value)
        elif kind == "user_alias":
            profile = users.by_alias(*value)
        elif kind == "phone":
            profile = users.by_phone(value)
        else:
            return users.by_braze_id(value)
        if profile is not None or not create:
            return profile
        profile = users.create()
        if kind == "external_id":
            users.set_external_id(profile, value)
        elif kind == "user_alias":
            users.add_alias(profile, *value)
        else:
            users.set_phone(profile, obj["phone"])
        return profile

    def _attributes(self, obj: dict[str, Any]) -> str | None:
        target = identify(obj)
        if isinstance(target, str):
            return target
        kind, lookup = target
        error = self.standard.first_error(obj, kind == "email")
        if error is not None:
            return error
        update_only = obj.get("_update_existing_only")
        if update_only is None:
            update_only = kind == "user_alias"  # aliases default to update-only (§2.4)
        if kind == "email":  # the common case, one call less
            profile = self.users.by_email_or_new(lookup, update_only is not True)
        else:
            profile = self._profile(target, obj, update_only is not True)
        if profile is None:
            return None  # accepted; nothing to update
        merge = obj.get("_merge_objects") is True
        appliers = self._appliers
        fields = profile.fields
        custom = profile.custom
        plain = self.writer.catalog.plain
        write = self.writer.write
        for key, value in obj.items():
            applier = appliers.get(key, _CUSTOM)
            if applier is _CUSTOM:
                cls = type(value)
                if key not in plain:  # new to the catalog, blocklisted or of a forced type
                    write(profile, key, value, merge)
                elif cls is int or cls is float or cls is bool:
                    custom[key] = value  # the common cases, without a call
                elif (
                    cls is str
                    and 0 < len(value) <= MAX_STRING
                    and not value[0].isdigit()
                    and (len(value) <= 20 or value[3] != " ")
                ):
                    custom[key] = value  # a plain string: cannot be a date
                else:
                    write(profile, key, value, merge)
            elif applier is None:
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = value
            elif applier is not _CONTROL:
                applier(profile, key, value, obj, kind)
        self.users.touch(profile)
        return None

    def _when(self, obj: dict[str, Any], now: float) -> str | datetime:
        raw = obj.get("time")
        if raw is None:
            return "'time' is required"
        moment = parse_time(raw)
        if moment is None:
            return "'time' is not valid"
        limit = datetime.fromtimestamp(now, UTC)
        return limit if moment > limit else moment  # future times become "now"

    def _event(self, obj: dict[str, Any], now: float) -> str | None:
        target = identify(obj)
        if isinstance(target, str):
            return target
        name = obj.get("name")
        if name is None:
            return "'name' is required"
        if type(name) is not str or not name or len(name) > 255:
            return "'name' is not valid"
        when = self._when(obj, now)
        if isinstance(when, str):
            return when
        error = _properties_error(obj.get("properties"), EVENT_RESERVED)
        if error is not None:
            return error
        # With a user_alias, update-only is always true for events (§2.4).
        create = target[0] != "user_alias" and obj.get("_update_existing_only") is not True
        profile = self._profile(target, obj, create)
        if profile is not None:
            _count(profile.events, name, format_time(when), 1)
            self.users.touch(profile)
        return None

    def _purchase(self, obj: dict[str, Any], now: float) -> str | None:
        target = identify(obj)
        if isinstance(target, str):
            return target
        for field in ("product_id", "currency", "price"):
            if obj.get(field) is None:
                return f"'{field}' is required"
        product_id = obj["product_id"]
        if type(product_id) is not str or not product_id or len(product_id) > 255:
            return "'product_id' is not valid"
        if type(obj["currency"]) is not str or not CURRENCY.match(obj["currency"].upper()):
            return "'currency' is not valid"
        price = obj["price"]
        if not isinstance(price, int | float) or isinstance(price, bool):
            return "'price' is not valid"
        quantity = obj.get("quantity", 1)
        if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
            return "'quantity' is not valid"
        when = self._when(obj, now)
        if isinstance(when, str):
            return when
        error = _properties_error(obj.get("properties"), PURCHASE_RESERVED)
        if error is not None:
            return error
        create = target[0] != "user_alias" and obj.get("_update_existing_only") is not True
        profile = self._profile(target, obj, create)
        if profile is not None:
            _count(profile.purchases, product_id, format_time(when), quantity)
            profile.total_revenue += float(price) * quantity
            self.users.touch(profile)
        return None


def _count(table: dict[str, list[Any]], name: str, when: str, count: int) -> None:
    entry = table.get(name)
    if entry is None:
        table[name] = [when, when, count]
    else:
        entry[0] = min(entry[0], when)
        entry[1] = max(entry[1], when)
        entry[2] += count
