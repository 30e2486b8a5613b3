"""Rows of a Justuno lead export (CSV) as ``form_submitted`` events (pure).

Headers are property keys or their display names, in any case or spacing: ``fold_header``
turns ``First Name``, ``first_name`` and `` FIRST  NAME `` into ``first_name``, and a few
aliases name the same thing (``Phone`` / ``Phone Number`` / ``SMS`` → ``sms``, ``Email
Address`` → ``email``, ``Date of Birth`` → ``birthday``). Some columns are about the event
rather than the profile: ``Visitor ID``, ``Signup Date`` / ``Created At`` (the event time),
``SMS Consent`` / ``Email Consent``, ``Design`` / ``Design ID``, ``Page URL``, ``IP``,
``Consent Text`` and ``Event ID``. Every other column becomes a property.

Read a header once with ``LeadColumns.from_header`` and turn each row into an event with
``columns.event(row, now=...)`` (``event_from_lead_row`` does both, caching the header).

- An empty cell is an absent property. Consent cells read yes/true/1/y/on/x (ticked) and
  no/false/0/n/off (unticked); an empty cell means the design had no such field.
- ``visitor_id``: the ``Visitor ID`` cell, else derived from the valid email
  (``jv_email_`` + 16 hex digits of its sha256), else from the valid phone in E.164 (the
  row's country as hint), else from the raw email or the phone's digits. The same lead
  gets the same visitor id on every import, so re-imports dedupe.
- ``occurred_at``: the ``Signup Date`` / ``Created At`` cell (ISO date-time, ISO date, or
  ``MM/DD/YYYY [HH:MM[:SS]]``; no zone means UTC), else ``now`` (the import time).
- ``event_id``: the ``Event ID`` cell, else ``lead_`` + 32 hex digits of the sha256 of
  the row's non-empty cells (not of the import time).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring as _json_str

from justuno_braze import normalize
from justuno_braze.errors import InputError
from justuno_braze.events import JSON, Event, lead_event, parse_time

# folded header → property key (aliases); any other folded header is its own key
PROPERTY_ALIASES: dict[str, str] = {
    "phone": "sms", "phone_number": "sms", "sms": "sms", "sms_number": "sms",
    "mobile": "sms", "mobile_phone": "sms", "mobile_number": "sms", "cell_phone": "sms",
    "email_address": "email", "e_mail": "email", "e_mail_address": "email",
    "firstname": "first_name", "given_name": "first_name",
    "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "date_of_birth": "birthday", "birth_date": "birthday", "birthdate": "birthday",
    "dob": "birthday",
}  # fmt: skip

# folded header → event field
EVENT_COLUMNS: dict[str, str] = {
    "visitor_id": "visitor_id", "visitor": "visitor_id", "justuno_visitor_id": "visitor_id",
    "signup_date": "occurred_at", "sign_up_date": "occurred_at", "created_at": "occurred_at",
    "created": "occurred_at", "created_date": "occurred_at", "date_created": "occurred_at",
    "submitted_at": "occurred_at", "occurred_at": "occurred_at",
    "sms_consent": "consent.sms", "email_consent": "consent.email",
    "design": "design_id", "design_id": "design_id",
    "page_url": "page_url", "page": "page_url", "url": "page_url",
    "ip": "ip", "ip_address": "ip", "consent_text": "consent_text", "event_id": "event_id",
}  # fmt: skip

CONSENT_WORDS: dict[str, bool] = {
    **dict.fromkeys(("yes", "y", "true", "t", "1", "on", "x", "checked"), True),
    **dict.fromkeys(("no", "n", "false", "f", "0", "off", "unchecked"), False),
}

_NON_WORD = re.compile(r"[\W_]+")
_US_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def fold_header(name: str) -> str:
    """A header as a snake_case key: `` First  Name `` → ``first_name``, ``Zip-Code`` →
    ``zip_code``, ``Préférence`` → ``preference``, ``メール`` stays ``メール``.
    Accents are dropped; a header of symbols only folds to ``""`` (the column is ignored)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NON_WORD.sub("_", bare).strip("_")


@dataclass(frozen=True, slots=True)
class LeadColumns:
    """A validated header row: for each column, the event field or property it fills."""

    properties: tuple[tuple[str, str], ...]  # (header, property key)
    fields: tuple[tuple[str, str], ...]  # (header, event field)
    # every key (property or event field), sorted, with its pair's JSON opening
    # ``["key",``: what ``_derived_event_id`` would otherwise sort and encode per row
    id_keys: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = sorted({key for _, key in (*self.properties, *self.fields)})
        id_keys = tuple((key, f"[{_json_str(key)},") for key in keys)
        object.__setattr__(self, "id_keys", id_keys)  # frozen: set once, here

    @classmethod
    def from_header(cls, header: Sequence[str]) -> LeadColumns:
        """Fold each header once; two columns that mean the same thing are an error."""
        seen: dict[str, str] = {}
        props: list[tuple[str, str]] = []
        fields: list[tuple[str, str]] = []
        for column in header:
            if not isinstance(column, str):
                continue  # extra cells beyond the header (csv's restkey) carry no name
            folded = fold_header(column)
            if not folded:
                continue
            target = EVENT_COLUMNS.get(folded)
            key = target or PROPERTY_ALIASES.get(folded, folded)
            if key in seen:
                raise InputError(
                    f"columns {seen[key]!r} and {column!r} both mean {key!r}", field="header"
                )
            seen[key] = column
            (fields if target else props).append((column, key))
        if not {"email", "sms", "visitor_id"} & seen.keys():
            raise InputError(
                "needs an Email, Phone or Visitor ID column to identify leads", field="header"
            )
        return cls(tuple(props), tuple(fields))

    def event(
        self, row: Mapping[str, str | None], *, now: datetime, line: int | None = None
    ) -> Event:
        """The ``form_submitted`` event for one row (``line`` only names it in errors)."""
        properties: dict[str, str] = {}
        for column, key in self.properties:
            cell = row.get(column)
            if cell is not None and (value := cell.strip()):
                properties[key] = value
        # the event's string fields, and every non-empty event cell (for the event id)
        fields: dict[str, str] = {"type": "form_submitted"}
        cells: dict[str, str] = {}
        consent: dict[str, bool] = {}
        occurred_at: datetime | None = None
        for column, target in self.fields:
            cell = row.get(column)
            if cell is None or not (value := cell.strip()):
                continue
            cells[target] = value
            if target.startswith("consent."):
                flag = CONSENT_WORDS.get(value.lower())
                if flag is None:
                    raise InputError(
                        "must be yes/true/1 or no/false/0", field=f"{_where(line)}.{column}"
                    )
                consent[target.removeprefix("consent.")] = flag
            elif target == "occurred_at":
                occurred_at = _lead_time(value, f"{_where(line)}.{column}")
            else:
                fields[target] = value
        if "visitor_id" not in fields:
            fields["visitor_id"] = _derived_visitor_id(properties, line)
        if "event_id" not in fields:
            fields["event_id"] = _derived_event_id(self.id_keys, properties | cells)
        try:
            return lead_event(fields, occurred_at, properties, consent, now=now)
        except InputError as exc:
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise InputError(message, field=f"{_where(line)}.{exc.field}") from None


def _where(line: int | None) -> str:
    return f"row {line}" if line is not None else "row"


def event_from_lead_row(row: Mapping[str, str | None], *, now: datetime) -> Event:
    """One CSV lead row (headers → cells) as a ``form_submitted`` event."""
    return _columns(tuple(k for k in row if isinstance(k, str))).event(row, now=now)


@lru_cache(maxsize=64)
def _columns(header: tuple[str, ...]) -> LeadColumns:
    return LeadColumns.from_header(header)


def _lead_time(text: str, fld: str) -> datetime:
    if m := _US_TIME.fullmatch(text):
        month, day, year, hour, minute, second = (int(g) if g else 0 for g in m.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise InputError("is not a valid date", field=fld) from None
    if len(text) == 10:  # a bare ISO date: midnight UTC
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            pass
    return parse_time(text, fld)


def _derived_visitor_id(properties: Mapping[str, JSON], line: int | None) -> str:
    raw_email = properties.get("email")
    raw_phone = properties.get("sms", properties.get("phone"))
    if isinstance(raw_email, str):
        try:
            return _hashed("jv_email_", normalize.email(raw_email))
        except normalize.Unnormalizable:
            pass
    if isinstance(raw_phone, str):
        hint = properties.get("country")
        try:
            region = normalize.country(hint) if isinstance(hint, str) else None
        except normalize.Unnormalizable:
            region = None
        try:
            return _hashed("jv_phone_", normalize.phone(raw_phone, region))
        except normalize.Unnormalizable:
            pass
    if isinstance(raw_email, str):
        return _hashed("jv_email_", raw_email.strip().lower())
    if isinstance(raw_phone, str) and (digits := "".join(c for c in raw_phone if c.isdigit())):
        return _hashed("jv_phone_", digits)
    raise InputError("has no email, phone or visitor id to identify the lead", field=_where(line))


def _hashed(prefix: str, value: str) -> str:
    return prefix + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _derived_event_id(id_keys: Sequence[tuple[str, str]], cells: Mapping[str, str]) -> str:
    """From the row's non-empty cells as (key, stripped text) pairs, sorted by key: the
    sha256 of ``json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)``, written
    out here (the same text, without building an encoder per row). Keys are unique, so
    the pairs come in ``id_keys``' order, each key encoded once per header."""
    text = ",".join(
        [f"{opening}{_json_str(value)}]" for key, opening in id_keys if (value := cells.get(key))]
    )
    return "lead_" + hashlib.sha256(f"[{text}]".encode()).hexdigest()[:32]
