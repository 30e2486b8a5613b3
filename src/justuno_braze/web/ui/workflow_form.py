"""The workflow editor's form ⇄ a workflow definition (pure: no I/O, no web types).

The editor posts flat form fields — ``name``, ``trigger_event``, ``conditions-3-op``,
``mappings-0-target``… — and the service validates DEFINITIONS (the file format's
mapping). :class:`EditorForm` holds exactly what the user typed (so a refused save
re-renders it unchanged), converts to a definition (:meth:`EditorForm.to_definition`),
and :func:`field_errors` puts each problem the model names by path
(``steps[0].sync_to_app.properties[1].to: …``) next to the form field it came from.

Decisions:
- Empty condition / mapping rows (what "Add" leaves) are dropped, so the definition's row
  ``i`` is not always the form's row ``i``: :class:`Draft` keeps the index maps.
- Condition values are typed as text: ``true``/``false`` become booleans and numbers
  written canonically (``2``, ``2.5``; not ``02134``) become numbers, so a value read from
  a file shows and saves back unchanged; ``in`` / ``not_in`` split on commas. Operators
  that take no value drop what the value box holds.
- The rows show one level of ``all`` / ``any``. A draft with nested groups (imported from
  a file) shows its conditions as JSON text instead, and steps after the first Sync to
  App ride along in a hidden field: the form never drops what it cannot show.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from justuno_braze.workflows.model import LIST_OPERATORS, VALUELESS_OPERATORS, Operator, Reenroll

NEW_TARGET = "__new__"
#: The no-JS "Show this connection's attributes" button: re-render, save nothing.
SHOW_ATTRIBUTES = "show_attributes"
#: Event types offered by the trigger select (any other stored type is offered too).
EVENT_TYPES = ("form_submitted", "profile_updated", "page_view", "session_started")
OPERATORS = tuple(o.value for o in Operator)
REENROLL = tuple(r.value for r in Reenroll)
IDENTIFY = ("email", "alias", "external_id")
#: More rows than this in one post is not a person typing.
MAX_ROWS = 200
GENERAL = "workflow"  # the errors key of problems that belong to no one field

_ROW = re.compile(r"^(conditions|mappings)-(\d{1,4})-(property|op|value|source|target|new)$")
_INT = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")
_STEP = "steps[0].sync_to_app"
_STEP_FIELDS = (
    "connection",
    "default_region",
    "sms_subscription_group_id",
    "email_subscription_group_id",
    "send_event",
)


@dataclass
class ConditionRow:
    """A condition row; ``prop`` is the property tested (posted as ``conditions-N-property``)."""

    prop: str = ""
    op: str = Operator.EQUALS.value
    value: str = ""

    @property
    def blank(self) -> bool:
        return not self.prop.strip() and not self.value.strip()


@dataclass
class MappingRow:
    """A Sync Another Property row: ``target`` is picked from the list, or ``NEW_TARGET``
    with the name typed in ``new``."""

    source: str = ""
    target: str = ""
    new: str = ""

    @property
    def chosen(self) -> str:
        return (self.new if self.target == NEW_TARGET else self.target).strip()

    @property
    def blank(self) -> bool:
        return not self.source.strip() and not self.chosen


@dataclass(frozen=True)
class Draft:
    """The definition built from the form; ``condition_rows[i]`` is the form row of the
    definition's condition ``i`` (likewise mappings); ``problems`` are the form's own."""

    definition: dict[str, Any]
    condition_rows: tuple[int, ...]
    mapping_rows: tuple[int, ...]
    problems: tuple[str, ...] = ()


@dataclass
class EditorForm:
    """What the editor shows and posts, as text."""

    name: str = ""
    trigger_event: str = EVENT_TYPES[0]
    trigger_designs: str = ""
    conditions_mode: str = "all"
    conditions: list[ConditionRow] = field(default_factory=list)
    conditions_json: str = ""
    reenroll: str = Reenroll.EVERY_EVENT.value
    connection: str = ""
    identify_by: str = "email"
    external_id_property: str = ""
    default_region: str = ""
    sms_subscription_group_id: str = ""
    email_subscription_group_id: str = ""
    send_event: str = ""
    mappings: list[MappingRow] = field(default_factory=list)
    more_steps: str = ""

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_definition(cls, d: Mapping[str, Any]) -> EditorForm:
        """The form showing a stored (canonical) definition."""
        trigger = _mapping(d.get("trigger"))
        raw_steps = d.get("steps")
        steps: list[Any] = raw_steps if isinstance(raw_steps, list) else []
        first = _mapping(_mapping(steps[0]).get("sync_to_app")) if steps else {}
        form = cls(
            name=_text(d.get("name")),
            trigger_event=_text(trigger.get("event")) or EVENT_TYPES[0],
            trigger_designs=", ".join(_text(x) for x in trigger.get("designs") or []),
            reenroll=_text(d.get("reenroll")) or Reenroll.EVERY_EVENT.value,
            connection=_text(first.get("connection")),
            default_region=_text(first.get("default_region")),
            sms_subscription_group_id=_text(first.get("sms_subscription_group_id")),
            email_subscription_group_id=_text(first.get("email_subscription_group_id")),
            send_event=_text(first.get("send_event")),
            more_steps=json.dumps(steps[1:], ensure_ascii=False) if len(steps) > 1 else "",
        )
        identify = _text(first.get("identify_by")) or "email"
        if identify.startswith("external_id:"):
            form.identify_by, form.external_id_property = "external_id", identify[12:]
        else:
            form.identify_by = identify
        form.mappings = [
            MappingRow(_text(row.get("from")), _text(row.get("to")))
            for row in map(_mapping, first.get("properties") or [])
        ]
        conditions = d.get("conditions")
        if isinstance(conditions, Mapping) and conditions:
            mode, items = next(iter(conditions.items()))
            flat = isinstance(items, list) and all(
                isinstance(c, Mapping) and "property" in c for c in items
            )
            if flat and mode in ("all", "any"):
                form.conditions_mode = mode
                form.conditions = [_condition_row(c) for c in items]
            else:
                form.conditions_json = json.dumps(conditions, indent=2, ensure_ascii=False)
        return form

    @classmethod
    def from_form(cls, data: Mapping[str, str]) -> EditorForm:
        """The form as posted (unknown fields ignored; rows ordered by their index)."""

        def get(key: str, default: str = "") -> str:
            value = data.get(key)
            return value if isinstance(value, str) else default

        conditions: dict[int, ConditionRow] = {}
        mappings: dict[int, MappingRow] = {}
        for key, value in data.items():
            match = _ROW.match(key)
            if match is None or not isinstance(value, str):
                continue
            kind, index, part = match.group(1), int(match.group(2)), match.group(3)
            if kind == "conditions" and part in ("property", "op", "value"):
                attribute = "prop" if part == "property" else part
                setattr(conditions.setdefault(index, ConditionRow()), attribute, value)
            elif kind == "mappings" and part in ("source", "target", "new"):
                setattr(mappings.setdefault(index, MappingRow()), part, value)
        return cls(
            name=get("name"),
            trigger_event=get("trigger_event", EVENT_TYPES[0]),
            trigger_designs=get("trigger_designs"),
            conditions_mode=get("conditions_mode", "all"),
            conditions=[conditions[i] for i in sorted(conditions)][:MAX_ROWS],
            conditions_json=get("conditions_json"),
            reenroll=get("reenroll", Reenroll.EVERY_EVENT.value),
            connection=get("connection"),
            identify_by=get("identify_by", "email"),
            external_id_property=get("external_id_property"),
            default_region=get("default_region"),
            sms_subscription_group_id=get("sms_subscription_group_id"),
            email_subscription_group_id=get("email_subscription_group_id"),
            send_event=get("send_event"),
            mappings=[mappings[i] for i in sorted(mappings)][:MAX_ROWS],
            more_steps=get("more_steps"),
        )

    # ------------------------------------------------------------------ editing

    def apply(self, action: str) -> bool:
        """Add or remove a row (the no-JS buttons): ``add_condition``, ``remove_mapping:2``…
        or ``SHOW_ATTRIBUTES`` (nothing to change: the re-render shows the chosen
        connection's picker). False when ``action`` is not one of them (then it is a save)."""
        if action == SHOW_ATTRIBUTES:
            return True
        verb, _, index = action.partition(":")
        kinds: dict[str, list[Any]] = {"condition": self.conditions, "mapping": self.mappings}
        rows = kinds.get(verb.partition("_")[2])
        if rows is None:
            return False
        if verb.startswith("add_") and not index and len(rows) < MAX_ROWS:
            rows.append(ConditionRow() if rows is self.conditions else MappingRow())
            return True
        if verb.startswith("remove_") and index.isdigit() and int(index) < len(rows):
            del rows[int(index)]
            return True
        return False

    # ------------------------------------------------------------------ writing

    def to_definition(self) -> Draft:
        """The definition to validate and save, with the form's own problems."""
        problems: list[str] = []
        designs = [d.strip() for d in self.trigger_designs.split(",") if d.strip()]
        out: dict[str, Any] = {
            "name": self.name.strip(),
            "trigger": {"event": self.trigger_event.strip(), "designs": designs},
        }
        condition_rows = tuple(i for i, row in enumerate(self.conditions) if not row.blank)
        if self.conditions_json.strip():
            try:
                out["conditions"] = json.loads(self.conditions_json)
            except ValueError as exc:
                problems.append(f"conditions: not valid JSON ({exc})")
            condition_rows = ()
        elif condition_rows:
            out["conditions"] = {
                self.conditions_mode: [_condition(self.conditions[i]) for i in condition_rows]
            }
        out["reenroll"] = self.reenroll.strip()
        mapping_rows = tuple(i for i, row in enumerate(self.mappings) if not row.blank)
        out["steps"] = [{"sync_to_app": self._step(mapping_rows)}]
        if self.more_steps.strip():
            try:
                more = json.loads(self.more_steps)
            except ValueError:
                more = None
            if isinstance(more, list):
                out["steps"].extend(more)
            else:
                problems.append("steps: the further steps could not be read; reload the page")
        return Draft(out, condition_rows, mapping_rows, tuple(problems))

    def _step(self, mapping_rows: tuple[int, ...]) -> dict[str, Any]:
        identify = self.identify_by.strip()
        if identify == "external_id":
            identify = f"external_id:{self.external_id_property.strip()}"
        step: dict[str, Any] = {"app": "braze"}
        optional = {
            "connection": self.connection,
            "identify_by": identify,
            "default_region": self.default_region,
            "sms_subscription_group_id": self.sms_subscription_group_id,
            "email_subscription_group_id": self.email_subscription_group_id,
        }
        for key, value in optional.items():
            if value.strip() or key == "sms_subscription_group_id":
                step[key] = value.strip()
        if mapping_rows:
            step["properties"] = [
                {"from": self.mappings[i].source.strip(), "to": self.mappings[i].chosen}
                for i in mapping_rows
            ]
        if self.send_event.strip():
            step["send_event"] = self.send_event.strip()
        return step


# --------------------------------------------------------------------------- values


def parse_value(op: str, text: str) -> Any:
    """A condition's typed value as the definition holds it (see the module docstring)."""
    if op in VALUELESS_OPERATORS:
        return None
    if op in LIST_OPERATORS:
        items = [_scalar(item.strip()) for item in text.split(",") if item.strip()]
        return items or None
    return _scalar(text.strip()) if text.strip() else None


def show_value(value: object) -> str:
    """A definition's condition value as the value box shows it (``parse_value`` reads it
    back unchanged)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v) for v in value)
    return str(value)


def _scalar(text: str) -> str | int | float | bool:
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) and repr(number) == text else text


def _condition(row: ConditionRow) -> dict[str, Any]:
    out: dict[str, Any] = {"property": row.prop.strip(), "op": row.op.strip()}
    if out["op"] not in VALUELESS_OPERATORS:
        out["value"] = parse_value(out["op"], row.value)
    return out


def _condition_row(c: Mapping[str, Any]) -> ConditionRow:
    return ConditionRow(_text(c.get("property")), _text(c.get("op")), show_value(c.get("value")))


def _mapping(v: object) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _text(v: object) -> str:
    return v if isinstance(v, str) else "" if v is None else str(v)


# --------------------------------------------------------------------------- problems

_CONDITION = re.compile(r"^conditions\.(?:all|any)\[(\d+)\](?:\.(property|op|value))?")
_MAPPING = re.compile(rf"^{re.escape(_STEP)}\.properties\[(\d+)\](?:\.(from|to))?")


def field_of(path: str, draft: Draft, form: EditorForm) -> str:
    """The form field (its ``name``) a problem path belongs to; ``GENERAL`` for none."""
    if path == "name":
        return "name"
    if path.startswith("trigger"):
        return "trigger_designs" if path.startswith("trigger.designs") else "trigger_event"
    if path.startswith("conditions"):
        match = _CONDITION.match(path)
        if form.conditions_json.strip() or match is None:
            return "conditions_json" if form.conditions_json.strip() else "conditions_mode"
        row = draft.condition_rows[int(match.group(1))]
        return f"conditions-{row}-{match.group(2) or 'property'}"
    if path.startswith("reenroll"):
        return "reenroll"
    match = _MAPPING.match(path)
    if match is not None and int(match.group(1)) < len(draft.mapping_rows):
        part = "source" if match.group(2) == "from" else "target"
        return f"mappings-{draft.mapping_rows[int(match.group(1))]}-{part}"
    if path.startswith(f"{_STEP}.properties"):
        return "mappings"
    if path.startswith(f"{_STEP}.identify_by"):
        return "external_id_property" if form.identify_by == "external_id" else "identify_by"
    for name in _STEP_FIELDS:
        if path.startswith(f"{_STEP}.{name}"):
            return name
    if path.startswith("steps[") and not path.startswith("steps[0]"):
        return "more_steps"
    return GENERAL


#: The editor's fields top to bottom (row fields sort by row, then by this order).
FIELD_ORDER = (
    GENERAL,
    "name",
    "trigger_event",
    "trigger_designs",
    "conditions_mode",
    "conditions_json",
    "conditions",
    "reenroll",
    "connection",
    "sms_subscription_group_id",
    "email_subscription_group_id",
    "identify_by",
    "external_id_property",
    "default_region",
    "send_event",
    "mappings",
    "more_steps",
)
_ROW_PARTS = ("property", "op", "value", "source", "target", "new")


def _position(key: str) -> tuple[int, int, int]:
    match = _ROW.match(key)
    if match is None:
        return (FIELD_ORDER.index(key) if key in FIELD_ORDER else len(FIELD_ORDER), 0, 0)
    rank = FIELD_ORDER.index(match.group(1))
    return (rank, int(match.group(2)), _ROW_PARTS.index(match.group(3)))


def field_errors(problems: list[str], draft: Draft, form: EditorForm) -> dict[str, str]:
    """Every problem (``path: message``) under its form field, in the order the fields
    are shown (so the summary at the top reads like the form); several join with ``; ``."""
    out: dict[str, str] = {}
    for problem in problems:
        path, sep, message = problem.partition(": ")
        key = field_of(path, draft, form) if sep else GENERAL
        text = message if sep and key != GENERAL else problem
        out[key] = f"{out[key]}; {text}" if key in out else text
    return {key: out[key] for key in sorted(out, key=_position)}
