"""Profile + Sync to App step → what Braze gets (pure; time is passed in).

``build`` returns a ``Payload`` (one ``/users/track`` attributes object, an optional
custom event, warnings and the consent decisions) or a ``Skip``. The rules are PRODUCT.md's:

- Default attributes always (S6): email, phone (Justuno's ``sms``, or ``phone``), first
  and last name, language, gender, country, normalised by ``justuno_braze.normalize``. A
  value that cannot be normalised is left out with a warning naming the attribute and the
  kind of value (never the value): Braze never receives ``null`` from us.
- The phone is parsed with the normalised profile country as hint, else the step's
  ``default_region``.
- Identity (``identify_by``): ``email`` keys the object by email, else phone (E.164), else
  the profile is skipped (``no_identifier``); ``alias`` uses ``user_alias`` on the visitor
  id with ``_update_existing_only: false`` so alias-only profiles are created;
  ``external_id:<property>`` takes the id from that property (≤ 987 bytes). Never more than
  one primary identifier in an object.
- Sync Another Property rows are coerced to the Braze type of their target (standard
  fields with the matching normaliser). An Object / Array-of-objects or blocklisted target
  (refused at save/publish, so only an outdated schema gets here) is left out with a
  warning; a target Braze does not know is sent with a warning.
- Consent → ``subscription_groups``: see ``braze.consent``.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from justuno_braze import normalize
from justuno_braze.braze.attributes import (
    AttributeSchema,
    AttributeType,
    CustomAttribute,
    braze_time,
    coerce,
)
from justuno_braze.braze.consent import ConsentDecision, decide
from justuno_braze.braze.step import (
    STANDARD_TARGETS,
    SyncToApp,
    object_target_message,
    unknown_target_message,
)
from justuno_braze.events import Event, Profile
from justuno_braze.normalize import Unnormalizable

__all__ = ["ConsentDecision", "Payload", "Skip", "build", "track_body"]

ALIAS_LABEL = "justuno_visitor_id"
MAX_EXTERNAL_ID_BYTES = 987
MAX_EVENT_STRING = 255
NO_IDENTIFIER = "no_identifier"

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Payload:
    """What one profile sends: an attributes object and, with ``send_event``, an event."""

    user_key: str  # email:<e> | phone:<e164> | alias:<visitor> | external_id:<id>
    attributes: dict[str, Any]
    event: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    consent: list[ConsentDecision] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing is sent for this profile; ``reason`` is a code, ``detail`` says why."""

    reason: str
    warnings: list[str] = field(default_factory=list)
    detail: str = ""


def track_body(payloads: Iterable[Payload]) -> dict[str, Any]:
    """The exact ``/users/track`` body (``events`` only when there are events)."""
    attributes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for p in payloads:
        attributes.append(p.attributes)
        if p.event is not None:
            events.append(p.event)
    body: dict[str, Any] = {"attributes": attributes}
    if events:
        body["events"] = events
    return body


# --- Sync Another Property plan: one schema lookup per (step, schema), not per profile ---


@dataclass(frozen=True, slots=True)
class _Mapping:
    source: str
    target: str
    convert: Convert | None  # None: refused, only the note is reported
    note: str | None  # warning reported whenever the row has a value


def _time_zone(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise Unnormalizable("not a time zone name")
    name = v.strip()
    if name not in _zones():
        raise Unnormalizable("not an IANA time zone name (like America/New_York)")
    return name


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _typed(kind: AttributeType) -> Convert:
    return functools.partial(coerce, attr=CustomAttribute(name="", type=kind))


_STANDARD: Mapping[str, Convert] = {
    "name": normalize.name,
    "dob": normalize.dob,
    "country": normalize.country,
    "language": normalize.language,
    "gender": normalize.gender,
    "time_zone": _time_zone,
    "string": _typed(AttributeType.STRING),
    "time": _typed(AttributeType.TIME),
    "boolean": _typed(AttributeType.BOOLEAN),
}


_last_plan: tuple[SyncToApp, AttributeSchema | None, tuple[_Mapping, ...]] | None = None


def _plan_for(step: SyncToApp, schema: AttributeSchema | None) -> tuple[_Mapping, ...]:
    """``_plan``, remembering the last one by identity: an import builds every lead with
    the same step and schema, and hashing a step (all its settings) costs microseconds."""
    global _last_plan
    last = _last_plan
    if last is not None and last[0] is step and last[1] is schema:
        return last[2]
    plan = _plan(step, schema)
    _last_plan = (step, schema, plan)
    return plan


@functools.lru_cache(maxsize=256)
def _plan(step: SyncToApp, schema: AttributeSchema | None) -> tuple[_Mapping, ...]:
    rows: list[_Mapping] = []
    for m in step.properties:
        standard = STANDARD_TARGETS.get(m.target)
        if standard is not None:
            rows.append(_Mapping(m.source, m.target, _STANDARD[standard], None))
            continue
        attr = schema.get(m.target) if schema is not None else None
        if attr is None:
            note = (
                unknown_target_message(m.target)
                if schema is not None
                else f"{m.target!r} was not checked against Braze's custom attributes"
            )
            rows.append(_Mapping(m.source, m.target, functools.partial(coerce, attr=None), note))
        elif attr.type in (AttributeType.OBJECT, AttributeType.OBJECT_ARRAY):
            note = (
                f"{object_target_message(m.target, attr.type)} (refused at save/publish); left out"
            )
            rows.append(_Mapping(m.source, m.target, None, note))
        elif attr.blocklisted:
            note = f"Braze attribute {m.target!r} is blocklisted; left out"
            rows.append(_Mapping(m.source, m.target, None, note))
        else:
            rows.append(_Mapping(m.source, m.target, functools.partial(coerce, attr=attr), None))
    return tuple(rows)


# --- building ---


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, list | dict):
        return bool(v)
    return True


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _normalised(attribute: str, raw: Any, fn: Convert, warnings: list[str]) -> Any:
    """``fn(raw)``, or ``None`` with a warning when it cannot be normalised."""
    try:
        return fn(raw)
    except Unnormalizable as exc:
        warnings.append(_left_out(attribute, raw, exc))
        return None


def _left_out(attribute: str, value: Any, exc: Unnormalizable) -> str:
    reason = exc.reason
    if reason.startswith(attribute + " "):  # "phone is not a valid number"
        reason = reason[len(attribute) + 1 :]
    return f"{attribute}: {reason}; {_kind(value)} value left out"


def build(
    profile: Profile,
    event: Event,
    step: SyncToApp,
    schema: AttributeSchema | None,
    *,
    now: datetime,
) -> Payload | Skip:
    """The Braze payload for ``profile`` after ``event``, per ``step`` (see module doc)."""
    props = profile.properties
    warnings: list[str] = []
    values: dict[str, Any] = {}

    raw = props.get("email")
    email = _normalised("email", raw, normalize.email, warnings) if _present(raw) else None
    raw = props.get("country")
    country = _normalised("country", raw, normalize.country, warnings) if _present(raw) else None
    raw = props.get("sms")
    if not _present(raw):
        raw = props.get("phone")
    phone = None
    if _present(raw):
        try:
            phone = normalize.phone(raw, country or step.default_region)
        except Unnormalizable as exc:
            warnings.append(_left_out("phone", raw, exc))
    for attribute, fn in _DEFAULTS:
        raw = props.get(attribute)
        if _present(raw):
            value = _normalised(attribute, raw, fn, warnings)
            if value is not None:
                values[attribute] = value
    if country is not None:
        values["country"] = country

    # identity
    attrs: dict[str, Any]
    ident: dict[str, Any]
    mode = step.identify_by
    if mode == "email":
        if email is not None:
            ident, user_key = {"email": email}, f"email:{email}"
        elif phone is not None:
            ident, user_key = {"phone": phone}, f"phone:{phone}"
        else:
            return Skip(NO_IDENTIFIER, warnings, "no valid email or phone on the profile")
        attrs = dict(ident)
    elif mode == "alias":
        visitor = profile.visitor_id
        if not visitor:
            return Skip(NO_IDENTIFIER, warnings, "the profile has no visitor id")
        ident = {"user_alias": {"alias_name": visitor, "alias_label": ALIAS_LABEL}}
        user_key = f"alias:{visitor}"
        attrs = {**ident, "_update_existing_only": False}
    else:
        source = step.external_id_property or ""
        external_id, problem = _external_id(props.get(source))
        if external_id is None:
            return Skip(NO_IDENTIFIER, warnings, f"property {source!r} {problem}")
        ident, user_key = {"external_id": external_id}, f"external_id:{external_id}"
        attrs = dict(ident)
    if email is not None:
        attrs["email"] = email
    if phone is not None:
        attrs["phone"] = phone
    attrs.update(values)

    # Sync Another Property
    for row in _plan_for(step, schema):
        raw = props.get(row.source)
        if not _present(raw):
            continue
        if row.note is not None:
            warnings.append(f"{row.source} → {row.target}: {row.note}")
        if row.convert is None:
            continue
        try:
            attrs[row.target] = row.convert(raw)
        except Unnormalizable as exc:
            warnings.append(_left_out(f"{row.source} → {row.target}", raw, exc))

    groups, decisions = decide(
        event,
        profile.visitor_id,
        sms_group=step.sms_subscription_group_id,
        email_group=step.email_subscription_group_id,
        has_phone=phone is not None,
        has_email=email is not None,
    )
    if groups:
        attrs["subscription_groups"] = groups

    custom_event = None
    if step.send_event is not None:
        custom_event = _custom_event(step.send_event, ident, event, now, warnings)
    return Payload(user_key, attrs, custom_event, warnings, decisions)


_DEFAULTS: tuple[tuple[str, Convert], ...] = (
    ("first_name", normalize.name),
    ("last_name", normalize.name),
    ("language", normalize.language),
    ("gender", normalize.gender),
)


def _external_id(raw: Any) -> tuple[str | None, str]:
    if not _present(raw):
        return None, "is empty or missing"
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None, f"is a {_kind(raw)}, not a text or whole number"
    text = str(raw).strip()
    if len(text.encode()) > MAX_EXTERNAL_ID_BYTES:
        return None, f"is longer than Braze's {MAX_EXTERNAL_ID_BYTES} bytes for an external_id"
    return text, ""


def _custom_event(
    name: str, ident: dict[str, Any], event: Event, now: datetime, warnings: list[str]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, value in (
        ("design_id", event.design_id),
        ("page_url", event.page_url),
        ("event_id", event.event_id),
    ):
        if value is None:
            continue
        if len(value) > MAX_EVENT_STRING:
            warnings.append(f"event property {key}: longer than 255 characters; left out")
            continue
        properties[key] = value
    # Braze replaces a future time with its own clock; we do the same with ours.
    when = min(event.occurred_at, now)
    return {**ident, "name": name, "time": braze_time(when), "properties": properties}
