"""Property-based tests of the workflow file format: round-trip and robustness."""

from __future__ import annotations

import json
import string
from datetime import date, datetime

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from justuno_braze.braze.step import PropertyMapping, SyncToApp
from justuno_braze.errors import WorkflowError
from justuno_braze.workflows.diff import diff
from justuno_braze.workflows.model import (
    LIST_OPERATORS,
    MAX_DEPTH,
    ORDER_OPERATORS,
    VALUELESS_OPERATORS,
    Condition,
    ConditionGroup,
    Operator,
    Reenroll,
    Trigger,
    Workflow,
    dump,
    load,
)

# Identifiers and texts: any characters, trimmed and non-blank (load trims them).
texts = st.text(min_size=1, max_size=40).map(str.strip).filter(bool)
names = st.text(min_size=1, max_size=200).map(str.strip).filter(bool)
scalars = st.one_of(
    texts,
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
moments = st.one_of(
    st.dates().map(date.isoformat),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
)


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    op = draw(st.sampled_from(list(Operator)))
    prop = draw(texts)
    if op in VALUELESS_OPERATORS:
        return Condition(prop, op)
    if op in LIST_OPERATORS:
        return Condition(prop, op, tuple(draw(st.lists(scalars, min_size=1, max_size=4))))
    if op in ORDER_OPERATORS:
        number = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))
        return Condition(prop, op, draw(st.one_of(number, moments)))
    return Condition(prop, op, draw(scalars))


def groups(depth: int = 1) -> st.SearchStrategy[ConditionGroup]:
    child = conditions() if depth >= MAX_DEPTH else st.one_of(conditions(), groups(depth + 1))
    return st.builds(
        ConditionGroup,
        st.sampled_from(["all", "any"]),
        st.lists(child, min_size=1, max_size=3).map(tuple),
    )


uuids = st.uuids().map(str)
steps = st.builds(
    SyncToApp,
    sms_subscription_group_id=uuids,
    connection=st.none() | texts,
    identify_by=st.sampled_from(["email", "alias", "external_id:customer_id"]),
    default_region=st.none() | st.sampled_from(["US", "BR", "NO", "DE"]),
    email_subscription_group_id=st.none() | uuids,
    properties=st.lists(
        st.builds(
            PropertyMapping,
            st.text(string.ascii_lowercase + "_", min_size=1, max_size=12),
            st.text(string.ascii_lowercase, min_size=1, max_size=12).map("attr_".__add__),
        ),
        max_size=3,
        unique_by=lambda m: m.target,
    ).map(tuple),
    send_event=st.none() | st.text(string.ascii_letters + "_", min_size=1, max_size=20),
)
workflows = st.builds(
    Workflow,
    name=names,
    trigger=st.builds(Trigger, texts, st.lists(texts, unique=True, max_size=4).map(tuple)),
    steps=st.lists(steps, min_size=1, max_size=3).map(tuple),
    conditions=st.none() | groups(),
    reenroll=st.sampled_from(list(Reenroll)),
)


@settings(max_examples=100, deadline=None)
@given(workflows, st.sampled_from(["yaml", "json"]))
def test_load_dump_round_trips(workflow: Workflow, fmt: str) -> None:
    assert load(dump(workflow, fmt)) == workflow  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(workflows)
def test_dumped_yaml_reads_the_same_with_a_yaml_1_1_reader(workflow: Workflow) -> None:
    assert load(yaml.safe_load(dump(workflow))) == workflow


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "name",
        "trigger",
        "event",
        "designs",
        "conditions",
        "all",
        "any",
        "property",
        "op",
        "value",
        "reenroll",
        "steps",
        "sync_to_app",
        "delay",
        "app",
        "sms_subscription_group_id",
    ]
)
shaped = st.recursive(
    json_values | st.sampled_from([op.value for op in Operator] + ["braze", "once"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, shaped))
def test_load_of_any_json_raises_only_workflow_error(data: object) -> None:
    for source in (json.dumps(data), data if isinstance(data, dict) else None):
        if source is None:
            continue
        try:
            workflow = load(source)
        except WorkflowError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        else:
            assert load(dump(workflow)) == workflow


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_load_of_any_text_raises_only_workflow_error(text: str) -> None:
    try:
        load(text)
    except WorkflowError as exc:
        assert exc.problems


@settings(max_examples=60, deadline=None)
@given(workflows, workflows)
def test_diff_is_empty_exactly_for_the_same_workflow(a: Workflow, b: Workflow) -> None:
    assert diff(a, a) == []
    changes = diff(a, b)
    if not changes:
        assert a == b
    else:
        assert all(isinstance(line, str) and ": " in line for line in changes)


@settings(max_examples=200, deadline=None)
@given(conditions(), json_values)
def test_conditions_never_crash_and_complements_agree(condition: Condition, value: object) -> None:
    from datetime import UTC

    from justuno_braze.events import Event, Profile
    from justuno_braze.workflows.conditions import evaluate

    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    profile = Profile("jv_1", now, now, properties={condition.property: value})  # type: ignore[dict-item]
    event = Event("ev", "form_submitted", "jv_1", now, page_url="https://shop.example/")
    result = evaluate(condition, profile, event)
    assert isinstance(result, bool)
    opposite = {
        Operator.EXISTS: Operator.NOT_EXISTS,
        Operator.EQUALS: Operator.NOT_EQUALS,
        Operator.IN: Operator.NOT_IN,
    }
    flipped = {**opposite, **{v: k for k, v in opposite.items()}}.get(condition.op)
    if flipped is not None:
        other = evaluate(Condition(condition.property, flipped, condition.value), profile, event)
        present = evaluate(Condition(condition.property, Operator.EXISTS), profile, event)
        if present or condition.op in (Operator.EXISTS, Operator.NOT_EXISTS):
            assert result != other  # exactly one of the pair holds
        else:
            assert not (result or other)  # a missing value fails both


@settings(max_examples=80, deadline=None)
@given(groups(), st.lists(json_values, min_size=1, max_size=6))
def test_explain_agrees_with_evaluate(group: ConditionGroup, values: list[object]) -> None:
    from datetime import UTC

    from justuno_braze.events import Event, Profile
    from justuno_braze.workflows.conditions import evaluate, explain

    def properties_of(c: Condition | ConditionGroup) -> list[str]:
        if isinstance(c, Condition):
            return [c.property]
        return [p for child in c.conditions for p in properties_of(child)]

    # Every other property referenced by the conditions gets a value; the rest are missing.
    names = properties_of(group)[::2]
    known = {name: values[i % len(values)] for i, name in enumerate(names)}
    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    profile = Profile("jv_1", now, now, properties=known)  # type: ignore[arg-type]
    event = Event("ev", "form_submitted", "jv_1", now)
    reason = explain(group, profile, event)
    assert evaluate(group, profile, event) is (reason is None)
    assert reason is None or reason.strip()
