"""What changed between two versions of a workflow, for version history (pure).

``diff(a, b)`` lists changes as a person reads them, one per line, with the path of the
documented file format::

    name: Spring lead capture → Spring leads
    trigger.designs: [spring-popup] → [spring-popup, exit-intent]
    conditions.all[1].value: 2 → 3
    steps[0].sync_to_app.properties: added {from: interests, to: interests}
    steps[0].sync_to_app.send_event: removed justuno_form_submitted

Lists of scalars are shown whole; lists of mappings (conditions, steps, mappings) are
aligned so an inserted or deleted row reads ``added``/``removed`` and a changed row shows
its changed fields. Both versions are compared in their canonical form (``to_dict``), so
defaults written or not in the files make no difference. ``unified(a, b)`` is the
classic unified diff of the two dumped files.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Literal

from justuno_braze.workflows.model import Workflow, dump

_PLAIN = re.compile(r"^[^\s,:\[\]{}'\"#][^,:\[\]{}]*(?<!\s)$")


def diff(a: Workflow, b: Workflow) -> list[str]:
    """Human-readable changes from ``a`` to ``b``; empty when they are equal."""
    changes: list[str] = []
    _compare(a.to_dict(), b.to_dict(), "", changes)
    return changes


def unified(
    a: Workflow,
    b: Workflow,
    fmt: Literal["yaml", "json"] = "yaml",
    *,
    labels: tuple[str, str] = ("a", "b"),
) -> str:
    """The unified diff of the two dumped files (empty when they are equal)."""
    return "".join(
        difflib.unified_diff(
            dump(a, fmt).splitlines(keepends=True),
            dump(b, fmt).splitlines(keepends=True),
            fromfile=labels[0],
            tofile=labels[1],
        )
    )


def render(value: Any) -> str:
    """A value in compact YAML flow style: ``{from: x, to: y}``, ``[a, b]``, ``'a: b'``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if _PLAIN.match(value) else json.dumps(value, ensure_ascii=False)
    return str(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_flat(items: list[Any]) -> bool:
    return not any(isinstance(v, dict | list) for v in items)


def _compare(old: Any, new: Any, path: str, changes: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                changes.append(f"{_join(path, key)}: removed {render(old[key])}")
            else:
                _compare(old[key], new[key], _join(path, key), changes)
        for key in new:
            if key not in old:
                changes.append(f"{_join(path, key)}: added {render(new[key])}")
        return
    if isinstance(old, list) and isinstance(new, list) and not (_is_flat(old) and _is_flat(new)):
        _compare_rows(old, new, path, changes)
        return
    if old != new or type(old) is not type(new):
        changes.append(f"{path}: {render(old)} → {render(new)}")


def _compare_rows(old: list[Any], new: list[Any], path: str, changes: list[str]) -> None:
    """Align two lists of rows; report removed, added and changed rows."""
    keys_old = [render(v) for v in old]
    keys_new = [render(v) for v in new]
    matcher = difflib.SequenceMatcher(a=keys_old, b=keys_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = _pair_similar(old[i1:i2], new[j1:j2])
        paired_old = set(pairs.values())
        changes.extend(
            f"{path}: removed {keys_old[i1 + i]}" for i in range(i2 - i1) if i not in paired_old
        )
        for j in range(j2 - j1):
            if j in pairs:
                _compare(old[i1 + pairs[j]], new[j1 + j], f"{path}[{j1 + j}]", changes)
            else:
                changes.append(f"{path}: added {keys_new[j1 + j]}")


def _pair_similar(old: list[Any], new: list[Any]) -> dict[int, int]:
    """Pair each new row with an old row it is an edit of (in order): new index → old index."""
    pairs: dict[int, int] = {}
    start = 0
    for j, row in enumerate(new):
        for i in range(start, len(old)):
            if _similar(old[i], row):
                pairs[j] = i
                start = i + 1
                break
    return pairs


def _similar(a: Any, b: Any) -> bool:
    """Same step kind / group mode, or at least half of the fields in common."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if len(a) == len(b) == 1:
        return a.keys() == b.keys()
    shared = sum(1 for k, v in a.items() if k in b and b[k] == v)
    return shared > 0 and 2 * shared >= max(len(a), len(b))
