"""The Sync to App → Braze step: its settings, validated.

In a workflow file the step reads::

    sync_to_app:
      app: braze
      connection: default                  # optional
      identify_by: email                   # email | alias | external_id:<property>
      default_region: US                   # optional phone-parsing hint (ISO-3166 alpha-2)
      sms_subscription_group_id: <uuid>    # required (S5)
      email_subscription_group_id: <uuid>  # optional
      properties:                          # Sync Another Property
        - {from: birthday, to: dob}
      send_event: justuno_form_submitted   # optional custom event name

``SyncToApp.from_dict`` names every problem with its path (the caller passes the prefix,
e.g. ``steps[0].sync_to_app``) and raises one ``WorkflowError``. ``problems(schema)`` adds
the checks that need Braze's custom-attribute schema (S9: Object and Array-of-objects
targets are refused; blocklisted targets too). Targets Braze does not know are not problems,
only ``warnings``: Braze creates them with an auto-detected type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from justuno_braze.braze.attributes import AttributeSchema, AttributeType
from justuno_braze.errors import WorkflowError

APP = "braze"
IDENTIFY_MODES = ("email", "alias", "external_id:<property>")
MAX_NAME_LENGTH = 255

_KEYS = (
    "app",
    "connection",
    "identify_by",
    "default_region",
    "sms_subscription_group_id",
    "email_subscription_group_id",
    "properties",
    "send_event",
)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PROPERTY_NAME = re.compile(r"^\S+$")

#: Braze standard profile fields a Sync Another Property row may write (braze-api.md §3),
#: with how the value is prepared (a normaliser name, or a custom-attribute type).
STANDARD_TARGETS: Mapping[str, str] = {
    "first_name": "name",
    "last_name": "name",
    "home_city": "name",
    "dob": "dob",
    "country": "country",
    "language": "language",
    "gender": "gender",
    "time_zone": "time_zone",
    "image_url": "string",
    "date_of_first_session": "time",
    "date_of_last_session": "time",
    "email_open_tracking_disabled": "boolean",
    "email_click_tracking_disabled": "boolean",
}

#: Braze fields a mapping may never write, and why.
REFUSED_TARGETS: Mapping[str, str] = {
    **dict.fromkeys(
        ("external_id", "user_alias", "braze_id", "alias_name", "alias_label"),
        "is a Braze identifier; identity is chosen with identify_by",
    ),
    "email": "is a default attribute, always synced from the profile's email",
    "phone": "is a default attribute, always synced from the profile's sms (or phone)",
    **dict.fromkeys(
        ("subscription_groups", "email_subscribe", "push_subscribe"),
        "is a subscription field; subscriptions follow the consent rules of this step",
    ),
    **dict.fromkeys(
        ("current_location", "facebook", "twitter", "push_tokens", "push_token_import"),
        "is a Braze object field; Sync Another Property cannot write Object or "
        "Array of objects attributes",
    ),
    "marked_email_as_spam_at": "is set by Braze, not by integrations",
}


@dataclass(frozen=True, slots=True)
class PropertyMapping:
    """One Sync Another Property row: profile property ``source`` → Braze ``target``."""

    source: str
    target: str

    def to_dict(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target}


@dataclass(frozen=True, slots=True)
class SyncToApp:
    """Settings of one Sync to App step whose app is Braze (validated by ``from_dict``)."""

    sms_subscription_group_id: str
    app: str = APP
    connection: str | None = None
    identify_by: str = "email"
    default_region: str | None = None
    email_subscription_group_id: str | None = None
    properties: tuple[PropertyMapping, ...] = ()
    send_event: str | None = None

    @property
    def external_id_property(self) -> str | None:
        """The profile property holding the external id (``identify_by: external_id:<p>``)."""
        if self.identify_by.startswith("external_id:"):
            return self.identify_by.partition(":")[2]
        return None

    @classmethod
    def from_dict(cls, d: object, *, prefix: str = "sync_to_app") -> SyncToApp:
        """Validate a step mapping (as in workflow files); every problem in one error."""
        problems: list[str] = []
        if not isinstance(d, Mapping):
            raise WorkflowError([f"{prefix}: must be a mapping of settings, got {_kind(d)}"])
        for key in d:
            if key not in _KEYS:
                problems.append(f"{prefix}.{key}: unknown setting (allowed: {', '.join(_KEYS)})")

        app = d.get("app")
        if app is None:
            problems.append(f"{prefix}.app: required (Select App → 'braze')")
        elif app != APP:
            problems.append(f"{prefix}.app: must be 'braze', got {app!r}")

        connection = _optional_text(d, "connection", prefix, problems)
        identify_by = _identify_by(d.get("identify_by", "email"), prefix, problems)
        default_region = _region(d.get("default_region"), prefix, problems)

        sms_group = d.get("sms_subscription_group_id")
        if sms_group is None or (isinstance(sms_group, str) and not sms_group.strip()):
            problems.append(
                f"{prefix}.sms_subscription_group_id: required (the Braze SMS subscription "
                "group ID, from Audience → Subscriptions; without it profiles carry no SMS "
                "consent)"
            )
            sms_group = ""
        else:
            sms_group = _uuid(sms_group, f"{prefix}.sms_subscription_group_id", problems)
        email_group = d.get("email_subscription_group_id")
        if isinstance(email_group, str) and not email_group.strip():
            email_group = None  # a blank optional field in a form
        if email_group is not None:
            email_group = _uuid(email_group, f"{prefix}.email_subscription_group_id", problems)

        properties = _mappings(d.get("properties"), f"{prefix}.properties", problems)
        send_event = _send_event(d.get("send_event"), f"{prefix}.send_event", problems)

        if problems:
            raise WorkflowError(problems)
        return cls(
            app=APP,
            connection=connection,
            identify_by=identify_by,
            default_region=default_region,
            sms_subscription_group_id=sms_group,
            email_subscription_group_id=email_group,
            properties=properties,
            send_event=send_event,
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as they are written in workflow files (``from_dict`` reads it back)."""
        out: dict[str, Any] = {"app": self.app}
        if self.connection is not None:
            out["connection"] = self.connection
        out["identify_by"] = self.identify_by
        if self.default_region is not None:
            out["default_region"] = self.default_region
        out["sms_subscription_group_id"] = self.sms_subscription_group_id
        if self.email_subscription_group_id is not None:
            out["email_subscription_group_id"] = self.email_subscription_group_id
        if self.properties:
            out["properties"] = [m.to_dict() for m in self.properties]
        if self.send_event is not None:
            out["send_event"] = self.send_event
        return out

    def problems(self, schema: AttributeSchema | None, *, prefix: str = "sync_to_app") -> list[str]:
        """Problems that refuse the step on save/publish, given Braze's attribute schema."""
        if schema is None:
            return []
        out: list[str] = []
        for i, mapping in enumerate(self.properties):
            if mapping.target in STANDARD_TARGETS:
                continue
            attr = schema.get(mapping.target)
            if attr is None:
                continue
            path = f"{prefix}.properties[{i}].to"
            if attr.type in (AttributeType.OBJECT, AttributeType.OBJECT_ARRAY):
                out.append(f"{path}: {object_target_message(mapping.target, attr.type)}")
            elif attr.blocklisted:
                out.append(
                    f"{path}: Braze attribute {mapping.target!r} is blocklisted; Braze does "
                    "not process blocklisted attributes"
                )
        return out

    def warnings(self, schema: AttributeSchema | None, *, prefix: str = "sync_to_app") -> list[str]:
        """What preview should point out but not refuse: targets Braze does not know."""
        out: list[str] = []
        for i, mapping in enumerate(self.properties):
            if mapping.target in STANDARD_TARGETS:
                continue
            if schema is None:
                out.append(
                    f"{prefix}.properties[{i}].to: {mapping.target!r} not checked (no Braze "
                    "custom-attribute list available)"
                )
            elif schema.get(mapping.target) is None:
                out.append(f"{prefix}.properties[{i}].to: {unknown_target_message(mapping.target)}")
        return out


def object_target_message(target: str, kind: AttributeType) -> str:
    """The S9 refusal, shared by save/publish and send time."""
    what = "an Array of objects" if kind is AttributeType.OBJECT_ARRAY else "an Object"
    return (
        f"Braze attribute {target!r} is {what}; Sync Another Property cannot write Object "
        "or Array of objects attributes"
    )


def unknown_target_message(target: str) -> str:
    return (
        f"Braze has no custom attribute {target!r} yet; Braze will create it with an "
        "auto-detected type"
    )


def _kind(v: object) -> str:
    return "null" if v is None else type(v).__name__


def _optional_text(d: Mapping[str, Any], key: str, prefix: str, problems: list[str]) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        problems.append(f"{prefix}.{key}: must be a non-empty text, got {_kind(v)}")
        return None
    return v.strip()


def _identify_by(v: object, prefix: str, problems: list[str]) -> str:
    path = f"{prefix}.identify_by"
    if not isinstance(v, str):
        problems.append(f"{path}: must be one of {', '.join(IDENTIFY_MODES)}, got {_kind(v)}")
        return "email"
    v = v.strip()
    if v in ("email", "alias"):
        return v
    head, sep, prop = v.partition(":")
    if head == "external_id" and sep:
        prop = prop.strip()
        if not prop or not _PROPERTY_NAME.match(prop):
            problems.append(
                f"{path}: external_id needs the profile property holding it, "
                "e.g. 'external_id:customer_id'"
            )
            return "email"
        return f"external_id:{prop}"
    problems.append(f"{path}: must be one of {', '.join(IDENTIFY_MODES)}, got {v!r}")
    return "email"


def _region(v: object, prefix: str, problems: list[str]) -> str | None:
    if v is None:
        return None
    path = f"{prefix}.default_region"
    if not isinstance(v, str) or len(v.strip()) != 2:
        problems.append(f"{path}: must be a 2-letter country code (ISO-3166 alpha-2) like 'US'")
        return None
    code = v.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(f"{path}: {v!r} is not a country code phone numbers can be parsed for")
        return None
    return code


def _uuid(v: object, path: str, problems: list[str]) -> str:
    if isinstance(v, str):
        text = v.strip().lower()
        if _UUID.match(text):
            return text
    got = repr(v) if isinstance(v, str) else _kind(v)
    problems.append(
        f"{path}: must be a Braze subscription group ID (a UUID like "
        f"'0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a'), got {got}"
    )
    return ""


def _mappings(v: object, path: str, problems: list[str]) -> tuple[PropertyMapping, ...]:
    if v is None:
        return ()
    if not isinstance(v, list | tuple):
        problems.append(f"{path}: must be a list of {{from, to}} rows, got {_kind(v)}")
        return ()
    out: list[PropertyMapping] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(v):
        here = f"{path}[{i}]"
        if isinstance(row, PropertyMapping):
            row = row.to_dict()
        if not isinstance(row, Mapping):
            problems.append(f"{here}: must be a mapping {{from, to}}, got {_kind(row)}")
            continue
        extra = [k for k in row if k not in ("from", "to")]
        if extra:
            names = ", ".join(repr(str(k)) for k in extra)
            problems.append(f"{here}: unknown key(s) {names} (allowed: from, to)")
        source = _mapping_name(row.get("from"), f"{here}.from", problems)
        target = _mapping_name(row.get("to"), f"{here}.to", problems)
        if target is not None:
            if target in REFUSED_TARGETS:
                problems.append(f"{here}.to: {target!r} {REFUSED_TARGETS[target]}")
                target = None
            elif target.startswith(("$", "_")):
                problems.append(f"{here}.to: a Braze attribute name cannot start with '$' or '_'")
                target = None
            elif target in seen:
                problems.append(
                    f"{here}.to: {target!r} is already the target of {path}[{seen[target]}]"
                )
                target = None
            else:
                seen[target] = i
        if source is not None and target is not None:
            out.append(PropertyMapping(source=source, target=target))
    return tuple(out)


def _mapping_name(v: object, path: str, problems: list[str]) -> str | None:
    if v is None:
        problems.append(f"{path}: required")
        return None
    if not isinstance(v, str) or not v.strip():
        problems.append(f"{path}: must be a non-empty name, got {_kind(v)}")
        return None
    name = v.strip()
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"{path}: longer than {MAX_NAME_LENGTH} characters")
        return None
    return name


def _send_event(v: object, path: str, problems: list[str]) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        problems.append(f"{path}: must be a non-empty event name, got {_kind(v)}")
        return None
    name = v.strip()
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"{path}: longer than {MAX_NAME_LENGTH} characters")
        return None
    if name.startswith("$"):
        problems.append(f"{path}: a Braze event name cannot start with '$'")
        return None
    return name
