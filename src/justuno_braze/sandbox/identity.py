"""Identity endpoints: ``/users/alias/new``, ``/users/identify``, ``/users/delete``,
``/users/export/ids`` (braze-api.md §7).

Each handler takes the parsed JSON body and returns ``(status, body)``; a malformed request
is a 400 whose ``message`` names the problem.
"""

from __future__ import annotations

from typing import Any

from justuno_braze.sandbox.formats import valid_phone
from justuno_braze.sandbox.users import EXPORT_FIELDS, Profile, UserStore

MAX_IDS = 50
MAX_IDS_MESSAGE = "The max number of external_ids and aliases per request was exceeded"
PRIORITIES = frozenset(
    {"identified", "unidentified", "most_recently_updated", "least_recently_updated"}
)

Answer = tuple[int, dict[str, Any]]


def _bad(message: str) -> Answer:
    return 400, {"message": message}


def _alias(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return None
    name, label = value.get("alias_name"), value.get("alias_label")
    if not isinstance(name, str) or not isinstance(label, str) or not name or not label:
        return None
    return label, name


def _list(body: dict[str, Any], field: str) -> list[Any] | None:
    value = body.get(field, [])
    return value if isinstance(value, list) else None


class Identity:
    """Alias, identify, delete and export over the user store."""

    def __init__(self, users: UserStore) -> None:
        self.users = users

    def alias_new(self, body: dict[str, Any]) -> Answer:
        items = _list(body, "user_aliases")
        if not items:
            return _bad("'user_aliases' must be a non-empty array")
        if len(items) > MAX_IDS:
            return _bad(MAX_IDS_MESSAGE)
        parsed: list[tuple[str | None, tuple[str, str]]] = []
        for index, item in enumerate(items):
            alias = _alias(item)
            external_id = item.get("external_id") if isinstance(item, dict) else None
            if alias is None or (external_id is not None and not isinstance(external_id, str)):
                return _bad(f"user_aliases[{index}]: 'alias_name' and 'alias_label' are required")
            parsed.append((external_id, alias))
        for external_id, (label, name) in parsed:
            if self.users.by_alias(label, name) is not None:
                continue  # the alias already belongs to a user
            if external_id is None:  # a new alias-only user
                self.users.add_alias(self.users.create(), label, name)
                continue
            profile = self.users.by_external_id(external_id)
            if profile is not None and self.users.add_alias(profile, label, name):
                self.users.touch(profile)
        return 201, {"aliases_processed": len(parsed), "message": "success"}

    def identify(self, body: dict[str, Any]) -> Answer:
        groups = {}
        for field in ("aliases_to_identify", "emails_to_identify", "phone_numbers_to_identify"):
            value = _list(body, field)
            if value is None or not all(isinstance(v, dict) for v in value):
                return _bad(f"'{field}' must be an array of objects")
            groups[field] = value
        total = sum(len(v) for v in groups.values())
        if total == 0:
            return _bad("one of 'aliases_to_identify', 'emails_to_identify' or "
                        "'phone_numbers_to_identify' is required")  # fmt: skip
        if total > MAX_IDS:
            return _bad(MAX_IDS_MESSAGE)
        for field, items in groups.items():
            for index, item in enumerate(items):
                if not isinstance(item.get("external_id"), str) or not item["external_id"]:
                    return _bad(f"{field}[{index}]: 'external_id' is required")
                if field == "aliases_to_identify" and _alias(item.get("user_alias")) is None:
                    return _bad(f"{field}[{index}]: 'user_alias' needs alias_name and alias_label")
                key = "email" if field == "emails_to_identify" else "phone"
                if field != "aliases_to_identify":
                    if not isinstance(item.get(key), str):
                        return _bad(f"{field}[{index}]: '{key}' is required")
                    priorities = item.get("prioritization", [])
                    if (
                        not isinstance(priorities, list)
                        or not set(priorities) <= PRIORITIES
                        or ("identified" in priorities and "unidentified" in priorities)
                    ):
                        return _bad(f"{field}[{index}]: 'prioritization' is not valid")
        for item in groups["aliases_to_identify"]:
            alias = _alias(item["user_alias"])
            assert alias is not None
            source = self.users.by_alias(*alias)
            if source is not None and source.external_id is None:
                self._identify(source, item["external_id"], alias[0])
        for field, key in (("emails_to_identify", "email"), ("phone_numbers_to_identify", "phone")):
            for item in groups[field]:
                source = self._prioritized(item[key], key, item.get("prioritization", []))
                if source is not None and source.external_id is None:
                    self._identify(source, item["external_id"], None)
        answer: dict[str, Any] = {"aliases_processed": len(groups["aliases_to_identify"])}
        if groups["emails_to_identify"]:
            answer["emails_processed"] = len(groups["emails_to_identify"])
        if groups["phone_numbers_to_identify"]:
            answer["phone_numbers_processed"] = len(groups["phone_numbers_to_identify"])
        answer["message"] = "success"
        return 201, answer

    def _prioritized(self, value: str, key: str, priorities: list[str]) -> Profile | None:
        if key == "email":
            candidates = self.users.all_by_email(value)
        else:
            e164 = valid_phone(value)
            candidates = self.users.all_by_phone(e164) if e164 else []
        for rule in priorities:
            if len(candidates) <= 1:
                break
            if rule == "identified":
                candidates = [p for p in candidates if p.external_id is not None] or candidates
            elif rule == "unidentified":
                candidates = [p for p in candidates if p.external_id is None] or candidates
            elif rule == "most_recently_updated":
                candidates = [max(candidates, key=lambda p: p.updated)]
            else:
                candidates = [min(candidates, key=lambda p: p.updated)]
        return candidates[0] if len(candidates) == 1 else None  # still ambiguous: no merge

    def _identify(self, source: Profile, external_id: str, label: str | None) -> None:
        target = self.users.by_external_id(external_id)
        if target is None:  # nobody has it: the unidentified profile takes the external_id
            self.users.set_external_id(source, external_id)
            self.users.touch(source)
        elif label is None or label not in target.aliases:
            self.users.merge(source, target)
        # same alias label already on the identified user: profiles are not combined

    def delete(self, body: dict[str, Any]) -> Answer:
        external_ids = _list(body, "external_ids")
        aliases = _list(body, "user_aliases")
        braze_ids = _list(body, "braze_ids")
        if external_ids is None or aliases is None or braze_ids is None:
            return _bad("'external_ids', 'user_aliases' and 'braze_ids' must be arrays")
        total = len(external_ids) + len(aliases) + len(braze_ids)
        if total == 0:
            return _bad("one of 'external_ids', 'user_aliases' or 'braze_ids' is required")
        if total > MAX_IDS:
            return _bad("The max number of ids per request was exceeded")
        found: dict[str, Profile] = {}
        for external_id in external_ids:
            profile = (
                self.users.by_external_id(external_id) if isinstance(external_id, str) else None
            )
            if profile is not None:
                found[profile.braze_id] = profile
        for item in aliases:
            alias = _alias(item)
            if alias is None:
                return _bad("'user_aliases' entries need alias_name and alias_label")
            profile = self.users.by_alias(*alias)
            if profile is not None:
                found[profile.braze_id] = profile
        for braze_id in braze_ids:
            profile = self.users.by_braze_id(braze_id) if isinstance(braze_id, str) else None
            if profile is not None:
                found[profile.braze_id] = profile
        for profile in found.values():
            self.users.delete(profile)
        return 201, {"deleted": len(found), "message": "success"}

    def export_ids(self, body: dict[str, Any]) -> Answer:
        fields = body.get("fields_to_export")
        if fields is not None:
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                return _bad("'fields_to_export' must be an array of strings")
            unknown = sorted(set(fields) - EXPORT_FIELDS)
            if unknown:
                return _bad(f"'fields_to_export' has unknown field(s): {', '.join(unknown)}")
        external_ids = _list(body, "external_ids")
        aliases = _list(body, "user_aliases")
        if external_ids is None or aliases is None:
            return _bad("'external_ids' and 'user_aliases' must be arrays")
        singles = [k for k in ("braze_id", "email_address", "phone", "device_id") if k in body]
        if ((external_ids or aliases) and singles) or len(singles) > 1:
            return _bad("send 'external_ids'/'user_aliases', or exactly one of 'braze_id', "
                        "'email_address', 'phone', 'device_id'")  # fmt: skip
        if len(external_ids) + len(aliases) > MAX_IDS:
            return _bad(MAX_IDS_MESSAGE)
        users: list[Profile] = []
        invalid: list[str] = []
        if external_ids or aliases:
            for external_id in external_ids:
                profile = (
                    self.users.by_external_id(external_id) if isinstance(external_id, str) else None
                )
                if profile is None:
                    invalid.append(str(external_id))
                else:
                    users.append(profile)
            for item in aliases:
                alias = _alias(item)
                if alias is None:
                    return _bad("'user_aliases' entries need alias_name and alias_label")
                profile = self.users.by_alias(*alias)
                if profile is not None:
                    users.append(profile)
        elif singles:
            value = body[singles[0]]
            if not isinstance(value, str) or not value:
                return _bad(f"'{singles[0]}' must be a non-empty string")
            if singles[0] == "braze_id":
                users = [p for p in [self.users.by_braze_id(value)] if p is not None]
            elif singles[0] == "email_address":
                users = self.users.all_by_email(value)
            elif singles[0] == "phone":
                e164 = valid_phone(value)
                users = self.users.all_by_phone(e164) if e164 else []
        else:
            return _bad("one of 'external_ids', 'user_aliases', 'braze_id', 'email_address', "
                        "'phone' or 'device_id' is required")  # fmt: skip
        answer: dict[str, Any] = {
            "message": "success",
            "users": [self.users.export(p, fields) for p in users],
        }
        if invalid:
            answer["invalid_user_ids"] = invalid
        return 201, answer
