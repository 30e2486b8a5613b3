"""Workflows as data: the model, its validation, and the file format (PRODUCT.md "Workflows").

The file format is PRODUCT.md "Workflow file format" (examples: tests/data/workflows/).

``load`` validates everything and raises ONE ``WorkflowError`` listing every problem with
its path (``conditions.all[1].opp: unknown key``). ``dump`` writes the canonical form:
every key in the documented order, defaults written out (``designs: []``,
``reenroll: every_event``), ``conditions`` left out when there are none; so
``load(dump(w)) == w`` and two equal workflows dump to the same text.

Decisions: the top level of ``conditions`` is a group (``all:`` or ``any:``); a group
lists at least one condition; groups nest at most ``MAX_DEPTH`` levels; condition values
are strings, numbers (finite) or booleans, never null or empty text (test a missing value
with ``not_exists``). Steps: ``sync_to_app`` is the only supported kind, so the first step
is a Sync to App by construction; ``if_then``, ``update_profile``, ``delay`` and
``webhook`` are recognised and refused as planned.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.step import SyncToApp
from justuno_braze.errors import WorkflowError
from justuno_braze.workflows import file_format

MAX_NAME_LENGTH = 200
MAX_DEPTH = 5
SUPPORTED_STEP_KINDS = ("sync_to_app",)
PLANNED_STEP_KINDS = ("if_then", "update_profile", "delay", "webhook")

Scalar: TypeAlias = str | int | float | bool
ConditionValue: TypeAlias = Scalar | tuple[Scalar, ...] | None
#: A step the engine can hand to the service; a union once planned kinds land.
Step: TypeAlias = SyncToApp


class Operator(enum.StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


LIST_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
VALUELESS_OPERATORS = frozenset({Operator.EXISTS, Operator.NOT_EXISTS})
ORDER_OPERATORS = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})


class Reenroll(enum.StrEnum):
    """How often one visitor may be enrolled again."""

    EVERY_EVENT = "every_event"
    ONCE_PER_SESSION = "once_per_session"
    ONCE = "once"


@dataclass(frozen=True, slots=True)
class Trigger:
    """The event type that enrolls a visitor, optionally only from some designs."""

    event: str
    designs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    """``{property, op, value}``: one test of a profile property or visitor behaviour."""

    property: str
    op: Operator
    value: ConditionValue = None


@dataclass(frozen=True, slots=True)
class ConditionGroup:
    """``all:`` (every condition holds) or ``any:`` (at least one holds)."""

    mode: Literal["all", "any"]
    conditions: tuple[Condition | ConditionGroup, ...]


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    conditions: ConditionGroup | None = None
    reenroll: Reenroll = Reenroll.EVERY_EVENT

    @classmethod
    def from_dict(cls, data: object) -> Workflow:
        """Validate plain data (as parsed from a file); every problem in one error."""
        return _Validator().workflow(data)

    def problems(self, schema: AttributeSchema | None) -> list[str]:
        """What refuses this workflow on save/publish given Braze's attribute schema (S9)."""
        return [
            p
            for i, step in enumerate(self.steps)
            for p in step.problems(schema, prefix=f"steps[{i}].sync_to_app")
        ]

    def warnings(self, schema: AttributeSchema | None) -> list[str]:
        """What Preview points out without refusing (targets Braze does not know yet)."""
        return [
            w
            for i, step in enumerate(self.steps)
            for w in step.warnings(schema, prefix=f"steps[{i}].sync_to_app")
        ]

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain form, in the documented key order (see module docstring)."""
        out: dict[str, Any] = {
            "name": self.name,
            "trigger": {"event": self.trigger.event, "designs": list(self.trigger.designs)},
        }
        if self.conditions is not None:
            out["conditions"] = condition_to_dict(self.conditions)
        out["reenroll"] = self.reenroll.value
        out["steps"] = [{"sync_to_app": step.to_dict()} for step in self.steps]
        return out


def condition_to_dict(c: Condition | ConditionGroup) -> dict[str, Any]:
    if isinstance(c, ConditionGroup):
        return {c.mode: [condition_to_dict(child) for child in c.conditions]}
    out: dict[str, Any] = {"property": c.property, "op": c.op.value}
    if c.op not in VALUELESS_OPERATORS:
        out["value"] = list(c.value) if isinstance(c.value, tuple) else c.value
    return out


def load(source: str | bytes | Mapping[str, Any]) -> Workflow:
    """A workflow from YAML text, JSON text or already-parsed data; raises ``WorkflowError``."""
    data = source if isinstance(source, Mapping) else file_format.parse(source)
    return Workflow.from_dict(data)


def load_file(path: str | Path) -> Workflow:
    """Read and ``load`` a workflow file; an unreadable file is a ``WorkflowError`` too."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise WorkflowError([f"{path}: cannot read the file ({exc.strerror})"]) from None
    return load(raw)


def dump(workflow: Workflow, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The workflow as file text (canonical; ``load(dump(w)) == w``)."""
    data = workflow.to_dict()
    if fmt == "json":
        return file_format.emit_json(data)
    if fmt == "yaml":
        return file_format.emit_yaml(data)
    raise ValueError(f"unknown workflow file format {fmt!r} (yaml or json)")


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, Mapping):
        return "a mapping"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a text"
    return "a number" if isinstance(v, int | float) else type(v).__name__


def is_iso_date(v: object) -> bool:
    """An ISO-8601 date (``2026-01-01``) or date-time (``2026-01-01T10:00:00Z``)."""
    if not isinstance(v, str) or len(v) < 10:
        return False
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(v)
        except ValueError:
            continue
        return True
    return False


def _is_scalar(v: object) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, str | int | bool)


class _Validator:
    """Walks plain data, collecting every problem before raising once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def unknown_keys(self, data: Mapping[Any, Any], allowed: tuple[str, ...], at: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"{at}.{key}" if at else str(key), "unknown key")

    def text(self, v: object, path: str, *, required: bool = True) -> str | None:
        if v is None:
            if required:
                self.fail(path, "required")
            return None
        if not isinstance(v, str):
            self.fail(path, f"must be a text, got {_kind(v)}")
            return None
        if not v.strip():
            self.fail(path, "must not be empty")
            return None
        return v.strip()

    def workflow(self, data: object) -> Workflow:
        if not isinstance(data, Mapping):
            raise WorkflowError([f"workflow: must be a mapping, got {_kind(data)}"])
        self.unknown_keys(data, ("name", "trigger", "conditions", "reenroll", "steps"), "")
        name = self.text(data.get("name"), "name")
        if name is not None and len(name) > MAX_NAME_LENGTH:
            self.fail("name", f"longer than {MAX_NAME_LENGTH} characters")
        trigger = self.trigger(data.get("trigger"))
        conditions = None
        if data.get("conditions") is not None:
            conditions = self.group(data["conditions"], "conditions", depth=1)
        reenroll = self.reenroll(data.get("reenroll"))
        steps = self.steps(data.get("steps"))
        if self.problems:
            raise WorkflowError(self.problems)
        assert name is not None and trigger is not None
        return Workflow(name, trigger, steps, conditions, reenroll)

    def trigger(self, data: object) -> Trigger | None:
        if data is None:
            self.fail("trigger", "required (the event type that enrolls a visitor)")
            return None
        if not isinstance(data, Mapping):
            self.fail("trigger", f"must be a mapping with 'event', got {_kind(data)}")
            return None
        self.unknown_keys(data, ("event", "designs"), "trigger")
        event = self.text(data.get("event"), "trigger.event")
        designs: list[str] = []
        raw = data.get("designs")
        if raw is not None and not isinstance(raw, list | tuple):
            self.fail("trigger.designs", f"must be a list of design ids, got {_kind(raw)}")
        for i, item in enumerate(raw if isinstance(raw, list | tuple) else ()):
            design = self.text(item, f"trigger.designs[{i}]")
            if design is not None and design in designs:
                self.fail(f"trigger.designs[{i}]", f"design {design!r} is listed twice")
            elif design is not None:
                designs.append(design)
        return None if event is None else Trigger(event, tuple(designs))

    def reenroll(self, v: object) -> Reenroll:
        if v is None:
            return Reenroll.EVERY_EVENT
        if isinstance(v, str) and v in {r.value for r in Reenroll}:
            return Reenroll(v)
        choices = ", ".join(r.value for r in Reenroll)
        shown = repr(v) if isinstance(v, str) else _kind(v)
        self.fail("reenroll", f"must be one of {choices}, got {shown}")
        return Reenroll.EVERY_EVENT

    def group(self, data: object, path: str, depth: int) -> ConditionGroup | None:
        if not isinstance(data, Mapping):
            self.fail(path, f"must be a mapping with 'all' or 'any', got {_kind(data)}")
            return None
        modes = [m for m in ("all", "any") if m in data]
        if len(modes) != 1:
            hint = " (wrap a single condition in 'all:')" if "property" in data else ""
            self.fail(path, f"must have exactly one of 'all' or 'any'{hint}")
            return None
        mode: Literal["all", "any"] = "all" if modes[0] == "all" else "any"
        self.unknown_keys(data, (mode,), path)
        here = f"{path}.{mode}"
        if depth > MAX_DEPTH:
            self.fail(here, f"conditions nested deeper than {MAX_DEPTH} levels")
            return None
        items = data[mode]
        if not isinstance(items, list | tuple):
            self.fail(here, f"must be a list of conditions, got {_kind(items)}")
            return None
        if not items:
            self.fail(here, "must list at least one condition")
            return None
        children: list[Condition | ConditionGroup] = []
        for i, item in enumerate(items):
            child: Condition | ConditionGroup | None
            if isinstance(item, Mapping) and ("all" in item or "any" in item):
                child = self.group(item, f"{here}[{i}]", depth + 1)
            else:
                child = self.condition(item, f"{here}[{i}]")
            if child is not None:
                children.append(child)
        return ConditionGroup(mode, tuple(children)) if len(children) == len(items) else None

    def condition(self, data: object, path: str) -> Condition | None:
        if not isinstance(data, Mapping):
            self.fail(path, f"must be a mapping {{property, op, value}}, got {_kind(data)}")
            return None
        self.unknown_keys(data, ("property", "op", "value"), path)
        prop = self.text(data.get("property"), f"{path}.property")
        raw_op = data.get("op")
        op: Operator | None = None
        if raw_op is None:
            self.fail(f"{path}.op", "required")
        elif not isinstance(raw_op, str):
            self.fail(f"{path}.op", f"must be an operator name, got {_kind(raw_op)}")
        elif raw_op not in {o.value for o in Operator}:
            known = ", ".join(o.value for o in Operator)
            self.fail(f"{path}.op", f"unknown operator {raw_op!r} (known: {known})")
        else:
            op = Operator(raw_op)
        value = self.value(op, data, f"{path}.value") if op is not None else None
        if prop is None or op is None or (value is None and op not in VALUELESS_OPERATORS):
            return None
        return Condition(prop, op, value)

    def value(self, op: Operator, data: Mapping[str, Any], path: str) -> ConditionValue:
        if op in VALUELESS_OPERATORS:
            if "value" in data:
                self.fail(path, f"operator {op.value!r} takes no value")
            return None
        v = data.get("value")
        if v is None:
            self.fail(path, f"required by operator {op.value!r}")
            return None
        if op in LIST_OPERATORS:
            if not isinstance(v, list | tuple) or not v:
                got = "an empty list" if isinstance(v, list | tuple) else _kind(v)
                self.fail(path, f"operator {op.value!r} needs a non-empty list, got {got}")
                return None
            items = [self.scalar(item, f"{path}[{i}]") for i, item in enumerate(v)]
            return None if any(item is None for item in items) else tuple(v)
        if op in ORDER_OPERATORS:
            number = isinstance(v, int | float) and not isinstance(v, bool) and _is_scalar(v)
            if not number and not is_iso_date(v):
                shown = repr(v) if isinstance(v, str) else _kind(v)
                self.fail(path, f"operator {op.value!r} needs a number or an ISO date, got {shown}")
                return None
            return v  # type: ignore[no-any-return]
        return self.scalar(v, path)

    def scalar(self, v: object, path: str) -> Scalar | None:
        if not _is_scalar(v):
            self.fail(path, f"must be a text, a number or true/false, got {_kind(v)}")
            return None
        if isinstance(v, str) and not v.strip():
            self.fail(path, "must not be empty (use not_exists to test for a missing value)")
            return None
        return v  # type: ignore[return-value]

    def steps(self, data: object) -> tuple[Step, ...]:
        if data is None:
            self.fail("steps", "required (a list starting with sync_to_app)")
            return ()
        if not isinstance(data, list | tuple):
            self.fail("steps", f"must be a list of steps, got {_kind(data)}")
            return ()
        if not data:
            self.fail("steps", "must list at least one step (sync_to_app)")
            return ()
        steps: list[Step] = []
        for i, item in enumerate(data):
            path = f"steps[{i}]"
            if not isinstance(item, Mapping) or len(item) != 1:
                self.fail(path, "must be a mapping with exactly one step kind, like sync_to_app:")
                continue
            ((kind, settings),) = item.items()
            if kind in PLANNED_STEP_KINDS:
                self.fail(path, f"step kind {kind!r} is planned but not supported yet")
            elif kind != "sync_to_app":
                supported = ", ".join(SUPPORTED_STEP_KINDS)
                self.fail(path, f"unknown step kind {kind!r} (supported: {supported})")
            else:
                try:
                    steps.append(SyncToApp.from_dict(settings, prefix=f"{path}.sync_to_app"))
                except WorkflowError as exc:
                    self.problems.extend(exc.problems)
        return tuple(steps)
