"""Standard profile fields of the ``/users/track`` attributes object (braze-api.md §3, §6).

``StandardFields.first_error(obj)`` returns the minor-error ``type`` that drops the whole
object (Braze's documented code where one exists, e.g. ``EMAIL_BAD_FORMAT``; otherwise the
wire wording ``"'<field>' is not valid"``) or ``None``; it applies ``rules``: per key, the
one type a non-null value must have, or a check function. ``appliers()`` says how to write
each checked key (``None``: stored as is). Lenient fields follow Braze: an unknown
``country`` is stored as NULL, an invalid ``time_zone`` is not set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from justuno_braze.sandbox.formats import (
    SHARED_CODES,
    TIME_ZONES,
    UUID,
    country_code,
    email_key,
    format_time,
    parse_time,
    valid_dob,
    valid_email,
)
from justuno_braze.sandbox.users import Profile, UserStore

GENDERS = frozenset({"M", "F", "O", "N", "P"})
GLOBAL_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})
GROUP_STATES = frozenset({"subscribed", "unsubscribed"})
_SHARED_STATES = {state: state for state in GROUP_STATES}  # profiles share these strings
_MISSING = object()
MAX_EMAIL_PROPAGATION = 100
# Keys of an attributes object that are not profile data (identifiers, flags) or that
# Braze ignores (``bio`` was dropped and is not a custom attribute).
CONTROL_KEYS = frozenset(
    {"external_id", "braze_id", "user_alias", "_update_existing_only", "_merge_objects",
     "push_token_import", "bio", "app_id"}
)  # fmt: skip
_STRINGS = ("first_name", "last_name", "home_city", "language", "image_url")
_BOOLEANS = ("email_open_tracking_disabled", "email_click_tracking_disabled")
_DATES = ("date_of_first_session", "date_of_last_session", "marked_email_as_spam_at")

Check = Callable[[Any], str | None]  # called for non-null values only
# The exact type a non-null value must have, the strings it must be one of, or a check.
Rule = type | frozenset[str] | Check
Applier = Callable[[Profile, str, Any, dict[str, Any], str], None]


def _not_valid(field: str) -> str:
    return f"'{field}' is not valid"


def _date_check(field: str) -> Check:
    error = _not_valid(field)
    return lambda v: None if parse_time(v) is not None else error


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _location(v: Any) -> str | None:
    if type(v) is dict and _number(v.get("longitude")) and _number(v.get("latitude")):
        return None
    return "BAD_LOCATION_UPDATE"


def _push_tokens(v: Any) -> str | None:
    if type(v) is not list or not all(type(t) is dict for t in v):
        return "BAD_PUSH_TOKEN_VALUE"
    if not all(type(t.get("token")) is str for t in v):
        return "BAD_PUSH_TOKEN_STRING"
    return None


class StandardFields:
    """Checks and applies standard fields; knows the configured subscription groups."""

    def __init__(self, users: UserStore, groups: Mapping[str, str]) -> None:
        self.users = users
        self.groups = groups
        self._accepted_groups: dict[str, str] = {}  # checked ID -> lower case (a memo)
        rules: dict[str, Rule] = {
            "email": lambda v: None if valid_email(v) else "EMAIL_BAD_FORMAT",
            "phone": str,
            "gender": GENDERS,
            "dob": lambda v: None if type(v) is str and valid_dob(v) else _not_valid("dob"),
            "country": str,
            "time_zone": str,
            "email_subscribe": GLOBAL_STATES,
            "push_subscribe": GLOBAL_STATES,
            "subscription_groups": self._groups_check,
            "current_location": _location,
            "push_tokens": _push_tokens,
            "facebook": dict,
            "twitter": dict,
        }
        rules.update(dict.fromkeys(_STRINGS, str))
        rules.update(dict.fromkeys(_BOOLEANS, bool))
        rules.update({name: _date_check(name) for name in _DATES})
        self.rules = rules
        # The identifier's email is checked already (``identify``).
        self._rules_but_email = {k: rule for k, rule in rules.items() if k != "email"}
        # What breaking a type or a set of strings is called (a check names its own error).
        self._errors = {
            k: _not_valid(k) for k, rule in rules.items() if isinstance(rule, type | frozenset)
        }
        self._errors.update(
            email_subscribe="BAD_EMAIL_SUBSCRIPTION_STATE",
            push_subscribe="BAD_PUSH_SUBSCRIPTION_STATE",
        )

    def first_error(self, obj: dict[str, Any], email_checked: bool = False) -> str | None:
        """The first rule ``obj`` breaks (in its key order), or None."""
        rules = self._rules_but_email if email_checked else self.rules
        for key, value in obj.items():
            rule = rules.get(key)
            if rule is None:
                continue
            if value is None:  # null removes a field, but groups are not a field
                if key == "subscription_groups":
                    return "BAD_SUBSCRIPTION_GROUP_ARRAY"
                continue
            kind = type(rule)  # (``type(...) is`` does not narrow for mypy: ignores below)
            if kind is type:
                if type(value) is not rule:
                    return self._errors[key]
            elif kind is frozenset:
                if type(value) is not str or value not in rule:  # type: ignore[operator]
                    return self._errors[key]
            else:
                error = rule(value)  # type: ignore[operator]
                if error is not None:
                    return error
        return None

    def _groups_check(self, value: Any) -> str | None:
        if type(value) is not list:
            return "BAD_SUBSCRIPTION_GROUP_ARRAY"
        accepted = self._accepted_groups
        for item in value:
            if type(item) is not dict:
                return "BAD_SUBSCRIPTION_GROUP_HASH"
            group_id = item.get("subscription_group_id", _MISSING)
            state = item.get("subscription_state", _MISSING)
            if group_id is _MISSING or state is _MISSING:
                return "BAD_SUBSCRIPTION_GROUP_HASH"
            if type(group_id) is not str:
                return "BAD_SUBSCRIPTION_GROUP_ID"
            if group_id not in accepted:
                if not UUID.match(group_id):
                    return "BAD_SUBSCRIPTION_GROUP_ID"
                if self.groups and group_id.lower() not in self.groups:
                    return "BAD_SUBSCRIPTION_GROUP_ID"
                if len(accepted) < 10_000:
                    accepted[group_id] = group_id.lower()
            if type(state) is not str or state not in GROUP_STATES:
                return "BAD_SUBSCRIPTION_GROUP_STATE"
        return None

    def appliers(self) -> dict[str, Applier | None]:
        """Standard key → how to write it (``None``: store as is, ``null`` removes)."""
        table: dict[str, Applier | None] = dict.fromkeys(self.rules)
        table.update(
            {
                "email": self._email,
                "phone": self._phone,
                "country": self._country,
                "time_zone": self._time_zone,
                "email_subscribe": self._email_subscribe,
                "subscription_groups": self._subscription_groups,
            }
        )
        table.update(dict.fromkeys(_DATES, self._date))
        return table

    @staticmethod
    def _country(profile: Profile, key: str, value: Any, obj: dict[str, Any], by: str) -> None:
        code = SHARED_CODES.get(value) or (country_code(value) if value is not None else None)
        if code is None:
            profile.fields.pop("country", None)  # no matching code: stored as NULL
        else:
            profile.fields["country"] = code

    @staticmethod
    def _time_zone(profile: Profile, key: str, value: Any, obj: dict[str, Any], by: str) -> None:
        if value is None:
            profile.fields.pop("time_zone", None)
        elif value in TIME_ZONES:
            profile.fields["time_zone"] = value  # an invalid zone is not set

    @staticmethod
    def _date(profile: Profile, key: str, value: Any, obj: dict[str, Any], by: str) -> None:
        moment = parse_time(value) if value is not None else None
        _put(profile.fields, key, format_time(moment) if moment is not None else None)

    def _email_subscribe(
        self, profile: Profile, key: str, value: Any, obj: dict[str, Any], by: str
    ) -> None:
        self.users.set_email_subscribe(profile, value)
        self._propagate_email_state(profile, value)

    def _email(self, profile: Profile, key: str, email: Any, obj: dict[str, Any], by: str) -> None:
        old = profile.fields.get("email")
        if email == old:
            return
        if old is not None and email is not None and email_key(old) == email_key(email):
            profile.fields["email"] = email  # same address in another case: state kept
            return
        other = self.users.other_by_email(email, profile) if email else None
        self.users.set_email(profile, email)
        if "email_subscribe" in obj:
            return
        # A new address starts subscribed, unless another profile has it: then its state.
        state = other.fields.get("email_subscribe") if other is not None else None
        _put(profile.fields, "email_subscribe", state)

    def _phone(self, profile: Profile, key: str, phone: Any, obj: dict[str, Any], by: str) -> None:
        if phone == profile.fields.get("phone"):
            return
        other = self.users.set_phone(profile, phone)
        if other is not None and other.subscriptions:
            # the number takes on the SMS group states of its other profile
            groups = self.groups
            setdefault = profile.subscriptions.setdefault
            for group_id, state in other.subscriptions.items():
                if groups.get(group_id, "sms") == "sms":
                    setdefault(group_id, state)

    def _propagate_email_state(self, profile: Profile, state: str | None) -> None:
        email = profile.fields.get("email")
        if not email:
            return
        others = [p for p in self.users.all_by_email(email) if p is not profile]
        for other in others[:MAX_EMAIL_PROPAGATION]:
            self.users.set_email_subscribe(other, state)

    def _subscription_groups(
        self, profile: Profile, key: str, items: list[dict[str, Any]], obj: dict[str, Any], by: str
    ) -> None:
        others: list[Profile] = []  # by external_id: the other profiles with its email
        if by == "external_id":
            email = obj.get("email")
            if isinstance(email, str):
                others = [p for p in self.users.all_by_email(email) if p is not profile]
        subscriptions = profile.subscriptions
        lower = self._accepted_groups  # one shared string per group ID
        for item in items:
            raw = item["subscription_group_id"]
            group_id = lower.get(raw) or raw.lower()
            state = _SHARED_STATES[item["subscription_state"]]  # checked: one of them
            if (
                state == "subscribed"
                and item.get("use_double_opt_in_logic") is True
                and self.groups.get(group_id, "sms") == "sms"
            ):
                continue  # enters the double opt-in flow: not subscribed yet
            subscriptions[group_id] = state
            for other in others:
                other.subscriptions[group_id] = state


def _put(fields: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        fields.pop(key, None)
    else:
        fields[key] = value
