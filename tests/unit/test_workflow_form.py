"""The workflow editor's form ⇄ definition conversion and problem placement (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from justuno_braze.errors import WorkflowError
from justuno_braze.web.ui.workflow_form import (
    GENERAL,
    NEW_TARGET,
    ConditionRow,
    EditorForm,
    MappingRow,
    field_errors,
    parse_value,
    show_value,
)
from justuno_braze.workflows.model import Workflow, load_file

DATA = Path(__file__).parents[1] / "data" / "workflows" / "valid"
SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"


def posted(form: EditorForm) -> dict[str, str]:
    """What a browser posts for ``form`` (the editor's field names)."""
    data = {k: v for k, v in vars(form).items() if isinstance(v, str)}
    for i, c in enumerate(form.conditions):
        data |= {f"conditions-{i}-property": c.prop, f"conditions-{i}-op": c.op,
                 f"conditions-{i}-value": c.value}  # fmt: skip
    for i, m in enumerate(form.mappings):
        data |= {f"mappings-{i}-source": m.source, f"mappings-{i}-target": m.target,
                 f"mappings-{i}-new": m.new}  # fmt: skip
    return data


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir()))
def test_every_example_workflow_survives_the_form_unchanged(name: str) -> None:
    workflow = load_file(DATA / name)
    form = EditorForm.from_form(posted(EditorForm.from_definition(workflow.to_dict())))
    draft = form.to_definition()
    assert draft.problems == ()
    assert Workflow.from_dict(draft.definition) == workflow


def test_the_spring_example_shows_in_the_fields() -> None:
    form = EditorForm.from_definition(load_file(DATA / "spring-lead-capture.yaml").to_dict())
    assert form.trigger_event == "form_submitted"
    assert form.conditions_mode == "all"
    assert [(c.prop, c.op) for c in form.conditions][:1] == [("country", "equals")]
    assert form.sms_subscription_group_id == SMS
    assert [(m.source, m.target) for m in form.mappings][:1] == [("birthday", "dob")]


def test_blank_rows_are_dropped_and_row_numbers_kept_for_problems() -> None:
    form = EditorForm(
        name="Leads",
        conditions=[ConditionRow(), ConditionRow("page_views", "gte", "two")],
        sms_subscription_group_id="not-a-uuid",
        mappings=[MappingRow(), MappingRow("", NEW_TARGET, "shoe_size")],
    )
    draft = form.to_definition()
    assert draft.definition["conditions"] == {
        "all": [{"property": "page_views", "op": "gte", "value": "two"}]
    }
    assert draft.condition_rows == (1,)
    assert draft.mapping_rows == (1,)
    with pytest.raises(WorkflowError) as caught:
        Workflow.from_dict(draft.definition)
    errors = field_errors(caught.value.problems[::-1], draft, form)
    assert list(errors) == [  # in the order the form shows them
        "conditions-1-value",
        "sms_subscription_group_id",
        "mappings-1-source",
    ]
    assert "UUID" in errors["sms_subscription_group_id"]
    assert "gte" in errors["conditions-1-value"]


def test_a_missing_sms_group_is_named_at_its_field() -> None:
    form = EditorForm(name="Leads")
    draft = form.to_definition()
    with pytest.raises(WorkflowError) as caught:
        Workflow.from_dict(draft.definition)
    errors = field_errors(caught.value.problems, draft, form)
    assert list(errors) == ["sms_subscription_group_id"]
    assert errors["sms_subscription_group_id"].startswith("required")


def test_problems_without_a_field_are_kept_whole() -> None:
    form = EditorForm()
    draft = form.to_definition()
    errors = field_errors(["something odd", "steps[0]: broken"], draft, form)
    assert errors == {GENERAL: "something odd; steps[0]: broken"}


def test_external_id_problems_go_to_the_property_box() -> None:
    form = EditorForm(name="x", identify_by="external_id", sms_subscription_group_id=SMS)
    draft = form.to_definition()
    assert draft.definition["steps"][0]["sync_to_app"]["identify_by"] == "external_id:"
    with pytest.raises(WorkflowError) as caught:
        Workflow.from_dict(draft.definition)
    assert list(field_errors(caught.value.problems, draft, form)) == ["external_id_property"]


@pytest.mark.parametrize(
    ("op", "text", "value"),
    [
        ("equals", "US", "US"),
        ("equals", "2", 2),
        ("equals", "02134", "02134"),
        ("gte", "2.5", 2.5),
        ("gte", "2026-01-01", "2026-01-01"),
        ("equals", "true", True),
        ("in", "US, CA ,, 3", ["US", "CA", 3]),
        ("exists", "ignored", None),
        ("equals", "  ", None),
    ],
)
def test_condition_values_are_typed_from_text(op: str, text: str, value: Any) -> None:
    assert parse_value(op, text) == value


@pytest.mark.parametrize("value", ["US", 2, 2.5, True, ["US", 3], "02134"])
def test_shown_values_read_back_unchanged(value: Any) -> None:
    op = "in" if isinstance(value, list) else "equals"
    assert parse_value(op, show_value(value)) == value


def test_add_and_remove_rows() -> None:
    form = EditorForm(conditions=[ConditionRow("a"), ConditionRow("b")])
    assert form.apply("add_condition")
    assert [c.prop for c in form.conditions] == ["a", "b", ""]
    assert form.apply("remove_condition:0")
    assert [c.prop for c in form.conditions] == ["b", ""]
    assert form.apply("add_mapping")
    assert len(form.mappings) == 1
    assert not form.apply("remove_mapping:5")
    assert not form.apply("save")


def test_nested_conditions_and_further_steps_are_kept() -> None:
    definition = {
        "name": "Nested",
        "trigger": {"event": "form_submitted", "designs": []},
        "conditions": {"any": [{"all": [{"property": "country", "op": "equals", "value": "US"}]}]},
        "reenroll": "once",
        "steps": [
            {"sync_to_app": {"app": "braze", "sms_subscription_group_id": SMS}},
            {"sync_to_app": {"app": "braze", "sms_subscription_group_id": SMS, "send_event": "e"}},
        ],
    }
    form = EditorForm.from_form(posted(EditorForm.from_definition(definition)))
    assert form.conditions == []
    assert form.conditions_json
    draft = form.to_definition()
    assert Workflow.from_dict(draft.definition) == Workflow.from_dict(definition)


def test_unreadable_conditions_json_is_a_problem_of_that_box() -> None:
    form = EditorForm(name="x", conditions_json="{not json", sms_subscription_group_id=SMS)
    draft = form.to_definition()
    assert "conditions" not in draft.definition
    assert list(field_errors(list(draft.problems), draft, form)) == ["conditions_json"]
