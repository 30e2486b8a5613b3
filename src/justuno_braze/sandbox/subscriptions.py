"""Subscription-group endpoints (braze-api.md §6.3–§6.6).

``POST /subscription/status/set`` (v1, one group, email *or* phone), ``POST
/v2/subscription/status/set`` (several groups), ``GET /subscription/status/get`` and ``GET
/subscription/user/status``. Group IDs are compared case-insensitively. Only existing
profiles are changed: an unknown external ID, email or phone is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from justuno_braze.sandbox.formats import UUID, valid_phone
from justuno_braze.sandbox.standard_fields import GROUP_STATES
from justuno_braze.sandbox.users import Profile, UserStore

MAX_IDS = 50
BOTH_EMAIL_AND_PHONE = "Either an email address or a phone number should be provided, but not both."

Answer = tuple[int, dict[str, Any]]


def _bad(message: str) -> Answer:
    return 400, {"message": message}


def _string_list(value: Any, field: str) -> list[str] | str:
    """A list of non-empty strings (a lone string is accepted as a list of one)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return f"'{field}' must be an array of strings"
    if len(value) > MAX_IDS:
        return f"'{field}' has more than {MAX_IDS} items"
    return value


class Subscriptions:
    """Reads and writes subscription-group states on profiles."""

    def __init__(self, users: UserStore, groups: Mapping[str, str]) -> None:
        self.users = users
        self.groups = groups

    def _group(self, value: Any) -> str | None:
        if not isinstance(value, str) or not UUID.match(value):
            return None
        group_id = value.lower()
        if self.groups and group_id not in self.groups:
            return None
        return group_id

    def _profiles(
        self, external_ids: list[str], emails: list[str], phones: list[str]
    ) -> list[Profile]:
        found: list[Profile] = []
        for external_id in external_ids:
            profile = self.users.by_external_id(external_id)
            if profile is not None:
                found.append(profile)
        for email in emails:  # a shared email or phone updates every profile with it
            found.extend(self.users.all_by_email(email))
        for phone in phones:
            key = valid_phone(phone)
            if key is not None:
                found.extend(self.users.all_by_phone(key))
        return found

    def _set_one(self, item: Mapping[str, Any], keys: tuple[str, str, str]) -> Answer | None:
        """Apply one group change; ``keys`` names the id/email/phone list fields."""
        group_id = self._group(item.get("subscription_group_id"))
        if group_id is None:
            return _bad("'subscription_group_id' is not a valid subscription group ID")
        state = item.get("subscription_state")
        if state not in GROUP_STATES:
            return _bad("'subscription_state' must be 'subscribed' or 'unsubscribed'")
        lists = [_string_list(item.get(key), key) for key in keys]
        for value in lists:
            if isinstance(value, str):
                return _bad(value)
        external_ids, emails, phones = (v for v in lists if not isinstance(v, str))
        if emails and phones:
            return _bad(BOTH_EMAIL_AND_PHONE)
        if not (external_ids or emails or phones):
            return _bad(f"one of '{keys[0]}', '{keys[1]}' or '{keys[2]}' is required")
        channel = self.groups.get(group_id)
        if channel == "sms" and emails:
            return _bad("an SMS subscription group is targeted by external ID or phone")
        if channel == "email" and phones:
            return _bad("an email subscription group is targeted by external ID or email")
        double_opt_in = item.get("use_double_opt_in_logic") is True and channel != "email"
        if state == "subscribed" and double_opt_in:
            return None  # the user enters the SMS double opt-in flow instead
        for profile in self._profiles(external_ids, emails, phones):
            profile.subscriptions[group_id] = state
            self.users.touch(profile)
        return None

    def set_v1(self, body: dict[str, Any]) -> Answer:
        failure = self._set_one(body, ("external_id", "email", "phone"))
        return failure or (201, {"message": "success"})

    def set_v2(self, body: dict[str, Any]) -> Answer:
        groups = body.get("subscription_groups")
        if not isinstance(groups, list) or not groups:
            return _bad("'subscription_groups' must be a non-empty array")
        if not all(isinstance(item, dict) for item in groups):
            return _bad("'subscription_groups' entries must be objects")
        for item in groups:  # check everything before changing anything
            for field in ("emails", "phones", "external_ids"):
                problem = _string_list(item.get(field), field)
                if isinstance(problem, str):
                    return _bad(problem)
        for item in groups:
            failure = self._set_one(item, ("external_ids", "emails", "phones"))
            if failure is not None:
                return failure
        return 201, {"message": "success"}

    def status_get(self, query: Mapping[str, list[str]]) -> Answer:
        group_id = self._group((query.get("subscription_group_id") or [""])[0])
        if group_id is None:
            return _bad("'subscription_group_id' is required and must be a valid group ID")
        external_ids = query.get("external_id", []) + query.get("external_id[]", [])
        emails = query.get("email", []) + query.get("email[]", [])
        phones = query.get("phone", []) + query.get("phone[]", [])
        status: dict[str, str] = {}
        if external_ids:  # an external_id drives the query alone
            if len(external_ids) > MAX_IDS:
                return _bad(f"'external_id' has more than {MAX_IDS} items")
            for external_id in external_ids:
                profile = self.users.by_external_id(external_id)
                status[external_id] = _state(profile, group_id)
        elif emails and phones:
            return _bad(BOTH_EMAIL_AND_PHONE)
        elif emails or phones:
            keys = emails or phones
            if len(keys) > MAX_IDS:
                return _bad(f"more than {MAX_IDS} identifiers")
            for key in keys:
                found = self.users.by_email(key) if emails else _by_phone(self.users, key)
                status[key] = _state(found, group_id)
        else:
            return _bad("one of 'external_id', 'email' or 'phone' is required")
        return 200, {"status": status, "message": "success"}

    def user_status(self, query: Mapping[str, list[str]]) -> Answer:
        external_ids = query.get("external_id", []) + query.get("external_id[]", [])
        emails = query.get("email", []) + query.get("email[]", [])
        phones = query.get("phone", []) + query.get("phone[]", [])
        if not (external_ids or emails or phones):
            return _bad("one of 'external_id', 'email' or 'phone' is required")
        if max(len(external_ids), len(emails), len(phones)) > MAX_IDS:
            return _bad(f"more than {MAX_IDS} identifiers")
        try:
            limit = int((query.get("limit") or ["100"])[0])
            offset = int((query.get("offset") or ["0"])[0])
        except ValueError:
            return _bad("'limit' and 'offset' must be integers")
        if not 1 <= limit <= 100 or offset < 0:
            return _bad("'limit' must be 1–100 and 'offset' >= 0")
        entries: list[dict[str, str]] = []
        seen: set[str] = set()
        for profile in self._profiles(external_ids, emails, phones):
            if profile.braze_id in seen:
                continue
            seen.add(profile.braze_id)
            entries.extend(
                {"subscription_group_id": group_id, "subscription_status": state}
                for group_id, state in sorted(profile.subscriptions.items())
            )
        return 200, {
            "success": True,
            "subscription_groups": entries[offset : offset + limit],
            "message": "success",
        }


def _by_phone(users: UserStore, phone: str) -> Profile | None:
    key = valid_phone(phone)
    return users.by_phone(key) if key is not None else None


def _state(profile: Profile | None, group_id: str) -> str:
    if profile is None:
        return "Unknown"
    state = profile.subscriptions.get(group_id)
    return state.capitalize() if state else "Unknown"
