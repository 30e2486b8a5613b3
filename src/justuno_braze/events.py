"""Justuno events and visitor profiles: parse, validate, merge (pure).

An event is the canonical JSON that the ingestion API, the import command and the embed
script accept (PRODUCT.md "Justuno events"). Decisions where the spec is silent:

- Unknown top-level keys are **ignored**: a Justuno Webhook template may add its own keys,
  and refusing them would lose leads. Unknown keys inside ``consent`` are errors (a typo
  there would silently change what consent we record).
- ``occurred_at`` must be an ISO-8601 date *and time*; a time without a zone is UTC. When
  ``now`` is given, a missing ``occurred_at`` means "now" (the embed script may leave it
  out) and a time more than a day after ``now`` is refused (a far-future time would win
  every later merge forever).
- ``null`` values — top-level optional fields and properties — mean "absent", as do
  properties whose value is a blank string: an empty form field never erases what the
  profile already knows.
- ``event_id`` is derived, when absent, from the sha256 of the canonical JSON of the
  content (``ev_`` + 32 hex digits), so a re-sent event gets the same id.
- ``ip`` is checked and written in its canonical form.

Errors are ``InputError`` with ``field`` as a dotted path (``properties.email``,
``consent.sms``). Messages never quote the offending value (it may be personal data).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from justuno_braze.errors import InputError

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None

MAX_ID_LENGTH = 255
MAX_KEY_LENGTH = 255
MAX_TEXT_LENGTH = 8192
MAX_DEPTH = 32
CONSENT_CHANNELS = frozenset({"sms", "email"})
FUTURE_SKEW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Event:
    """One Justuno event, validated. ``occurred_at`` is aware and in UTC."""

    event_id: str
    type: str
    visitor_id: str
    occurred_at: datetime
    design_id: str | None = None
    page_url: str | None = None
    properties: Mapping[str, JSON] = field(default_factory=dict)
    consent: Mapping[str, bool] = field(default_factory=dict)
    ip: str | None = None
    consent_text: str | None = None

    def to_dict(self) -> dict[str, JSON]:
        """The canonical JSON form; ``parse_event(e.to_dict()) == e``."""
        out: dict[str, JSON] = {
            "event_id": self.event_id,
            "type": self.type,
            "visitor_id": self.visitor_id,
            "occurred_at": format_time(self.occurred_at),
        }
        out.update(_content_extras(self))
        return out


def format_time(t: datetime) -> str:
    """``2026-11-29T10:00:00Z`` (microseconds kept when present)."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _content_extras(e: Event) -> dict[str, JSON]:
    return _extras(e.design_id, e.page_url, e.properties, e.consent, e.ip, e.consent_text)


def _extras(
    design_id: str | None,
    page_url: str | None,
    properties: Mapping[str, JSON],
    consent: Mapping[str, bool],
    ip: str | None,
    consent_text: str | None,
) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    if design_id is not None:
        out["design_id"] = design_id
    if page_url is not None:
        out["page_url"] = page_url
    out["properties"] = dict(properties)
    if consent:
        out["consent"] = dict(consent)
    if ip is not None:
        out["ip"] = ip
    if consent_text is not None:
        out["consent_text"] = consent_text
    return out


def derive_event_id(
    type: str, visitor_id: str, occurred_at: datetime, content: Mapping[str, JSON]
) -> str:
    """A stable id from an event's content: the same content always gives the same id."""
    doc: dict[str, JSON] = {
        "type": type,
        "visitor_id": visitor_id,
        "occurred_at": format_time(occurred_at),
        **content,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "ev_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- parsing


def _string(value: object, fld: str, *, limit: int, required: bool) -> str | None:
    if value is None:
        if required:
            raise InputError("is required", field=fld)
        return None
    if not isinstance(value, str):
        raise InputError(f"must be a string, not {_kind(value)}", field=fld)
    text = value.strip()
    if not text:
        if required:
            raise InputError("must not be empty", field=fld)
        return None
    if len(text) > limit:
        raise InputError(f"is longer than {limit} characters", field=fld)
    return text


def _required(value: object, fld: str) -> str:
    text = _string(value, fld, limit=MAX_ID_LENGTH, required=True)
    if text is None:  # unreachable: _string raises for a required field
        raise InputError("is required", field=fld)
    return text


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def parse_time(value: object, fld: str = "occurred_at") -> datetime:
    """An ISO-8601 date-time string as an aware UTC datetime (naive means UTC)."""
    if not isinstance(value, str):
        raise InputError(f"must be an ISO-8601 date-time string, not {_kind(value)}", field=fld)
    text = value.strip()
    # A bare date is not a moment; require a time part (``T`` or a space separator).
    if len(text) < 11 or text[10] not in "Tt ":
        raise InputError("must be an ISO-8601 date-time like 2026-11-29T10:00:00Z", field=fld)
    try:
        t = datetime.fromisoformat(text)
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return t.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(
            "must be an ISO-8601 date-time like 2026-11-29T10:00:00Z", field=fld
        ) from None


def _json_value(value: object, fld: str, depth: int) -> JSON:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError("must be a finite number", field=fld)
        return value
    if depth >= MAX_DEPTH:
        raise InputError(f"is nested deeper than {MAX_DEPTH} levels", field=fld)
    if isinstance(value, list | tuple):
        return [_json_value(v, f"{fld}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, JSON] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError("object keys must be strings", field=fld)
            out[k] = _json_value(v, f"{fld}.{k}", depth + 1)
        return out
    raise InputError(f"is not a JSON value ({_kind(value)})", field=fld)


def _properties(value: object) -> dict[str, JSON]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"must be an object, not {_kind(value)}", field="properties")
    out: dict[str, JSON] = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InputError("property names must be non-empty strings", field="properties")
        if len(key) > MAX_KEY_LENGTH:
            raise _long_property_name()
        if raw is None:
            continue  # absent
        if isinstance(raw, str):
            if raw.strip():  # else absent: an empty form field never erases a known value
                out[key] = raw
            continue
        out[key] = _json_value(raw, f"properties.{key}", 1)
    return out


def _long_property_name() -> InputError:
    return InputError(
        f"property name is longer than {MAX_KEY_LENGTH} characters", field="properties"
    )


def _consent(value: object) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"must be an object, not {_kind(value)}", field="consent")
    unknown = sorted(str(k) for k in value if k not in CONSENT_CHANNELS)
    if unknown:
        raise InputError(
            f"unknown consent channel(s) {', '.join(unknown)} (expected sms, email)",
            field="consent." + unknown[0],
        )
    out: dict[str, bool] = {}
    for key, flag in value.items():
        if not isinstance(flag, bool):
            raise InputError(f"must be true or false, not {_kind(flag)}", field=f"consent.{key}")
        out[str(key)] = flag
    return out


def _ip(value: object) -> str | None:
    text = _string(value, "ip", limit=64, required=False)
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InputError("is not an IPv4 or IPv6 address", field="ip") from None


def parse_event(data: object, *, now: datetime | None = None) -> Event:
    """Validate the canonical event JSON (already decoded) and return an ``Event``.

    ``now`` (naive means UTC) stands in for a missing ``occurred_at`` and bounds how far
    in the future ``occurred_at`` may be.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"an event must be a JSON object, not {_kind(data)}", field="event")
    return _event(data, now, None)


def lead_event(
    fields: Mapping[str, str],
    occurred_at: datetime | None,
    properties: Mapping[str, JSON],
    consent: Mapping[str, bool],
    *,
    now: datetime,
) -> Event:
    """``parse_event`` for what a reader already took apart (the lead CSV reader).

    ``fields`` holds the top-level string fields (``type``, ``visitor_id``, ``design_id``…),
    ``occurred_at`` is an aware datetime or ``None`` (then ``now``). ``properties`` must
    map non-blank names to non-blank stripped strings and ``consent`` ``sms``/``email`` to
    booleans: those are taken as they are (only a name over 255 characters is refused),
    everything else is checked exactly as ``parse_event`` checks it, in the same order, and
    gives the same ``Event``.
    """
    return _event(fields, now, (occurred_at, properties, consent))


_Trusted: TypeAlias = tuple[datetime | None, Mapping[str, JSON], Mapping[str, bool]]


def _event(d: Mapping[str, Any], now: datetime | None, trusted: _Trusted | None) -> Event:
    type_ = _required(d.get("type"), "type")
    visitor_id = _required(d.get("visitor_id"), "visitor_id")
    if now is not None:
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if trusted is None:
        raw_time = d.get("occurred_at")
        occurred_at = None if raw_time is None else parse_time(raw_time)
    else:
        occurred_at = None if trusted[0] is None else trusted[0].astimezone(UTC)
    if occurred_at is None:
        if now is None:
            raise InputError("is required", field="occurred_at")
        occurred_at = now
    elif now is not None and occurred_at > now + FUTURE_SKEW:
        raise InputError("is more than a day in the future", field="occurred_at")
    design_id = _string(d.get("design_id"), "design_id", limit=MAX_ID_LENGTH, required=False)
    page_url = _string(d.get("page_url"), "page_url", limit=MAX_TEXT_LENGTH, required=False)
    properties: Mapping[str, JSON]
    consent: Mapping[str, bool]
    if trusted is None:
        properties = _properties(d.get("properties"))
        consent = _consent(d.get("consent"))
    else:
        properties, consent = trusted[1], trusted[2]
        if any(len(key) > MAX_KEY_LENGTH for key in properties):
            raise _long_property_name()
    ip = _ip(d.get("ip"))
    consent_text = _string(
        d.get("consent_text"), "consent_text", limit=MAX_TEXT_LENGTH, required=False
    )
    event_id = _string(d.get("event_id"), "event_id", limit=MAX_ID_LENGTH, required=False)
    if event_id is None:
        extras = _extras(design_id, page_url, properties, consent, ip, consent_text)
        event_id = derive_event_id(type_, visitor_id, occurred_at, extras)
    return Event(
        event_id=event_id,
        type=type_,
        visitor_id=visitor_id,
        occurred_at=occurred_at,
        design_id=design_id,
        page_url=page_url,
        properties=properties,
        consent=consent,
        ip=ip,
        consent_text=consent_text,
    )


# --------------------------------------------------------------------------- profiles

SESSION_GAP = timedelta(minutes=30)
MAX_SESSION_SPANS = 64

Span: TypeAlias = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Profile:
    """A visitor as the merge of their events.

    ``session_spans`` are the most recent sessions as ``(start, end)`` activity times,
    oldest first, at least ``SESSION_GAP`` apart; ``sessions`` counts all sessions ever
    (older spans are forgotten, only counted). Treat instances as immutable: ``merge``
    returns a new profile and never changes its argument.
    """

    visitor_id: str
    first_seen: datetime
    last_seen: datetime
    properties: dict[str, JSON] = field(default_factory=dict)
    property_times: dict[str, datetime] = field(default_factory=dict)
    sessions: int = 0
    page_views: int = 0
    forms_submitted: int = 0
    session_spans: tuple[Span, ...] = ()

    @property
    def current_session_start(self) -> datetime:
        """Start of the latest session (for ``once_per_session`` re-enrollment)."""
        return self.session_spans[-1][0] if self.session_spans else self.last_seen

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-ready form for storage; ``Profile.from_dict(p.to_dict()) == p``."""
        return {
            "visitor_id": self.visitor_id,
            "first_seen": format_time(self.first_seen),
            "last_seen": format_time(self.last_seen),
            "properties": dict(self.properties),
            "property_times": {k: format_time(t) for k, t in self.property_times.items()},
            "sessions": self.sessions,
            "page_views": self.page_views,
            "forms_submitted": self.forms_submitted,
            "session_spans": [[format_time(a), format_time(b)] for a, b in self.session_spans],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        """Read back what ``to_dict`` wrote (stored data: trusted, but checked for shape)."""
        try:
            return cls(
                visitor_id=str(d["visitor_id"]),
                first_seen=parse_time(d["first_seen"], "first_seen"),
                last_seen=parse_time(d["last_seen"], "last_seen"),
                properties=dict(d.get("properties") or {}),
                property_times={
                    k: parse_time(v, f"property_times.{k}")
                    for k, v in (d.get("property_times") or {}).items()
                },
                sessions=int(d.get("sessions", 0)),
                page_views=int(d.get("page_views", 0)),
                forms_submitted=int(d.get("forms_submitted", 0)),
                session_spans=tuple(
                    (parse_time(a, "session_spans"), parse_time(b, "session_spans"))
                    for a, b in d.get("session_spans") or ()
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"stored profile is malformed ({exc!r})", field="profile") from None


def merge(profile: Profile | None, event: Event) -> Profile:
    """Fold ``event`` into ``profile`` (pure: returns a new profile).

    Properties: the value with the later ``occurred_at`` wins per property, so an event
    that arrives late fills what the profile lacks but never overwrites newer values
    (equal times: the later arrival wins). Counters: ``page_views`` and
    ``forms_submitted`` count events of those types; ``sessions`` counts runs of activity
    separated by at least 30 minutes, exactly also for out-of-order events within the last
    ``MAX_SESSION_SPANS`` sessions (an event older than those is taken to belong to a
    forgotten session). Merge is not idempotent: callers deduplicate by ``event_id``.
    """
    t = event.occurred_at
    if profile is None:
        return Profile(
            visitor_id=event.visitor_id,
            first_seen=t,
            last_seen=t,
            properties=dict(event.properties),
            property_times=dict.fromkeys(event.properties, t),
            sessions=1,
            page_views=int(event.type == "page_view"),
            forms_submitted=int(event.type == "form_submitted"),
            session_spans=((t, t),),
        )
    if event.visitor_id != profile.visitor_id:
        raise InputError("event belongs to another visitor than the profile", field="visitor_id")
    properties = dict(profile.properties)
    times = dict(profile.property_times)
    for key, value in event.properties.items():
        known = times.get(key)
        if known is None or t >= known or key not in properties:
            properties[key] = value
            times[key] = t
    spans, sessions = _add_activity(profile.session_spans, profile.sessions, t)
    return Profile(
        visitor_id=profile.visitor_id,
        first_seen=min(profile.first_seen, t),
        last_seen=max(profile.last_seen, t),
        properties=properties,
        property_times=times,
        sessions=sessions,
        page_views=profile.page_views + (event.type == "page_view"),
        forms_submitted=profile.forms_submitted + (event.type == "form_submitted"),
        session_spans=spans,
    )


def _add_activity(
    spans: tuple[Span, ...], sessions: int, t: datetime
) -> tuple[tuple[Span, ...], int]:
    """Add an activity time to the session spans; return the new spans and session count."""
    if not spans:
        return ((t, t),), sessions + 1
    last_start, last_end = spans[-1]
    if t >= last_end:  # the common case: events in order
        if t - last_end < SESSION_GAP:
            return (*spans[:-1], (last_start, t)), sessions
        return _trim((*spans, (t, t))), sessions + 1
    forgotten = sessions > len(spans)
    if forgotten and t <= spans[0][0] - SESSION_GAP:
        return spans, sessions  # belongs to a session older than the ones we remember
    joined = [s for s in spans if s[0] - t < SESSION_GAP and t - s[1] < SESSION_GAP]
    if not joined:
        new = tuple(sorted((*spans, (t, t))))
        return _trim(new), sessions + 1
    start = min(joined[0][0], t)
    end = max(joined[-1][1], t)
    kept = [s for s in spans if s not in joined]
    new = tuple(sorted((*kept, (start, end))))
    return new, sessions - (len(joined) - 1)


def _trim(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    return spans[-MAX_SESSION_SPANS:] if len(spans) > MAX_SESSION_SPANS else spans
