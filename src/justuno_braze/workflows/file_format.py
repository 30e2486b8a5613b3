"""The workflow file format on disk: YAML or JSON text ↔ plain data (no validation here).

YAML is read with the **YAML 1.2 core schema**, not PyYAML's default YAML 1.1 one, so a
marketer's file means what it says:

- only ``true``/``false`` are booleans: ``value: NO`` (Norway), ``yes``, ``on``, ``off``
  stay strings;
- dates are not converted: ``value: 2026-01-01`` stays the string ``"2026-01-01"``;
- ``012`` is twelve, ``1:30`` is a string, ``1_000`` is a string;
- anchors/aliases and merge keys (``<<``) are refused (no alias bombs), and so are
  duplicate keys (YAML and JSON), which other parsers silently resolve to the last one.

YAML is written so that *both* a YAML 1.1 and a 1.2 reader get the same values back: any
string either schema would read as something else (``NO``, ``0o17``, ``1e5``, ``~``) is
quoted. Text is JSON when it starts with ``{`` and parses as JSON; otherwise YAML.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from justuno_braze.errors import WorkflowError

_CORE_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_CORE_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_CORE_RESOLVERS: list[tuple[str, re.Pattern[str], list[str]]] = [
    ("tag:yaml.org,2002:bool", _CORE_BOOL, list("tTfF")),
    ("tag:yaml.org,2002:null", _CORE_NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", _CORE_INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _CORE_FLOAT, list("-+.0123456789")),
]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, no aliases and no duplicate keys."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class registry)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases are not supported", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node))
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return int(digits[2:], 8)
        if digits.startswith("0x"):
            return int(digits[2:], 16)
        return sign * int(digits, 10)

    def construct_yaml_float(self, node: Any) -> float:
        text = str(self.construct_scalar(node)).lower()
        if text.lstrip("+-") == ".inf":
            return -math.inf if text.startswith("-") else math.inf
        if text == ".nan":
            return math.nan
        return float(text)


for _tag, _pattern, _first in _CORE_RESOLVERS:
    _Loader.add_implicit_resolver(_tag, _pattern, _first)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes strings a YAML 1.1 *or* 1.2 reader would not read as strings."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def choose_scalar_style(self) -> str:
        # PyYAML may write text holding a Unicode line break (NEL, LS, PS) plain or single
        # quoted, where reading folds it away: double quotes escape it.
        value = getattr(self.event, "value", None)
        if isinstance(value, str) and any(c in value for c in "\x85\u2028\u2029"):
            return '"'
        return str(super().choose_scalar_style())

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent block sequences under their key, as the documented format does.
        super().increase_indent(flow, False)


for _tag, _pattern, _first in _CORE_RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, _pattern, _first)


class _FlowMapping(dict[str, Any]):
    """A mapping written on one line in YAML (``{from: x, to: y}``)."""


class _FlowList(list[Any]):
    """A list written on one line in YAML (``[spring-popup]``)."""


def _represent_flow_mapping(dumper: yaml.SafeDumper, data: _FlowMapping) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_FlowMapping, _represent_flow_mapping)
_Dumper.add_representer(_FlowList, _represent_flow_list)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from None
    except ValueError as exc:
        raise WorkflowError([f"invalid JSON: {exc}"]) from None


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
    except yaml.MarkedYAMLError as exc:
        where = ""
        if exc.problem_mark is not None:
            where = f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
        raise WorkflowError([f"invalid YAML{where}: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise WorkflowError([f"invalid YAML: {exc}"]) from None


def parse(source: str | bytes) -> Any:
    """YAML or JSON text → plain data (dicts, lists, str, int, float, bool, None).

    Raises ``WorkflowError`` with the line and column of a syntax error.
    """
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkflowError([f"not UTF-8 text (byte {exc.start})"]) from None
    text = source.removeprefix("\ufeff")
    try:
        if text.lstrip().startswith(("{", "[")):
            try:
                return _parse_json(text)
            except WorkflowError as json_error:
                try:  # YAML flow style, `{name: x, ...}`, also starts with a brace
                    return _parse_yaml(text)
                except WorkflowError:
                    raise json_error from None
        return _parse_yaml(text)
    except RecursionError:
        raise WorkflowError(["the document is nested too deeply"]) from None


def emit_yaml(data: Any) -> str:
    """Plain data → YAML text in the given key order, in the documented layout: lists of
    scalars and flat mappings inside lists on one line (``- {from: x, to: y}``)."""
    return yaml.dump(
        _flow_style(data, in_list=False),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def _flow_style(data: Any, *, in_list: bool) -> Any:
    if isinstance(data, dict):
        if in_list and all(_is_flat(v) for v in data.values()):
            return _FlowMapping(data)
        return {k: _flow_style(v, in_list=False) for k, v in data.items()}
    if isinstance(data, list):
        if all(not isinstance(v, dict | list) for v in data):
            return _FlowList(data)
        return [_flow_style(v, in_list=True) for v in data]
    return data


def _is_flat(v: object) -> bool:
    """A scalar, or a list of scalars."""
    if isinstance(v, list):
        return all(not isinstance(item, dict | list) for item in v)
    return not isinstance(v, dict)


def emit_json(data: Any) -> str:
    """Plain data → JSON text, indented, key order kept."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
