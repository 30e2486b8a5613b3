"""Workflow files: loading, validation problems, YAML 1.1 traps, canonical dump, round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from justuno_braze.braze.step import PropertyMapping, SyncToApp
from justuno_braze.errors import WorkflowError
from justuno_braze.workflows.model import (
    Condition,
    ConditionGroup,
    Operator,
    Reenroll,
    Trigger,
    Workflow,
    dump,
    load,
    load_file,
)

DATA = Path(__file__).parents[1] / "data" / "workflows"
SMS_GROUP = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL_GROUP = "4e1d2c3b-5a6f-4789-8abc-def012345678"


def problems_of(source: object) -> list[str]:
    with pytest.raises(WorkflowError) as info:
        if isinstance(source, Path):
            load_file(source)
        else:
            load(source)  # type: ignore[arg-type]
    return info.value.problems


def minimal(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Lead capture",
        "trigger": {"event": "form_submitted"},
        "steps": [{"sync_to_app": {"app": "braze", "sms_subscription_group_id": SMS_GROUP}}],
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- valid files


def test_the_product_example_loads_with_every_field() -> None:
    w = load_file(DATA / "valid" / "spring-lead-capture.yaml")
    assert w == Workflow(
        name="Spring lead capture",
        trigger=Trigger("form_submitted", ("spring-popup",)),
        conditions=ConditionGroup(
            "all",
            (
                Condition("country", Operator.EQUALS, "US"),
                Condition("page_views", Operator.GTE, 2),
            ),
        ),
        reenroll=Reenroll.EVERY_EVENT,
        steps=(
            SyncToApp(
                app="braze",
                connection="default",
                identify_by="email",
                default_region="US",
                sms_subscription_group_id=SMS_GROUP,
                email_subscription_group_id=EMAIL_GROUP,
                properties=(
                    PropertyMapping("birthday", "dob"),
                    PropertyMapping("interests", "interests"),
                ),
                send_event="justuno_form_submitted",
            ),
        ),
    )


def test_json_and_yaml_files_with_the_same_keys_are_the_same_workflow() -> None:
    from_yaml = load_file(DATA / "valid" / "spring-lead-capture.yaml")
    from_json = load_file(DATA / "valid" / "spring-lead-capture.json")
    assert from_json == from_yaml


def test_optional_parts_take_their_defaults() -> None:
    w = load_file(DATA / "valid" / "minimal.yaml")
    assert w.trigger == Trigger("form_submitted", ())
    assert w.conditions is None
    assert w.reenroll is Reenroll.EVERY_EVENT
    assert w.steps == (SyncToApp(sms_subscription_group_id=SMS_GROUP),)


def test_yaml_1_1_traps_keep_their_meaning() -> None:
    w = load_file(DATA / "valid" / "nordic-returning-visitors.yaml")
    assert w.conditions is not None
    by_country, rest = w.conditions.conditions
    assert by_country == Condition("country", Operator.IN, ("NO", "SE", "DK", "FI", "IS"))
    assert isinstance(rest, ConditionGroup)
    values = {c.property: c.value for c in rest.conditions if isinstance(c, Condition)}
    assert values == {
        "language": "no",
        "sessions": 1,
        "first_seen": "2026-01-01",
        "newsletter": "yes",
        "consent_banner": "off",
        "email": None,
        "quiz_score": 12,
    }
    assert w.reenroll is Reenroll.ONCE_PER_SESSION


def test_a_plain_yes_no_key_or_value_is_text_but_true_false_are_booleans() -> None:
    text = (
        "name: On\ntrigger: {event: yes}\nconditions:\n  all:\n"
        "    - {property: opted_in, op: equals, value: true}\n"
        f"steps:\n  - sync_to_app: {{app: braze, sms_subscription_group_id: {SMS_GROUP}}}\n"
    )
    w = load(text)
    assert (w.name, w.trigger.event) == ("On", "yes")
    assert w.conditions == ConditionGroup("all", (Condition("opted_in", Operator.EQUALS, True),))


# --------------------------------------------------------------------------- invalid files


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (
            "unknown-keys.yaml",
            [
                "reenrol: unknown key",
                "trigger.design: unknown key",
                "conditions.all[1].opp: unknown key",
                "conditions.all[1].op: required",
            ],
        ),
        (
            "bad-operators.yaml",
            [
                "conditions.all[0].op: unknown operator 'greater' (known: equals, not_equals, "
                "in, not_in, contains, exists, not_exists, gt, gte, lt, lte)",
                "conditions.all[1].value: operator 'in' needs a non-empty list, got a text",
                "conditions.all[2].value: operator 'exists' takes no value",
                "conditions.all[3].value: operator 'gte' needs a number or an ISO date, got 'two'",
                "conditions.all[4].value: required by operator 'equals'",
                "conditions.all[5].any: must list at least one condition",
                "reenroll: must be one of every_event, once_per_session, once, got 'always'",
            ],
        ),
        (
            "planned-step.yaml",
            [
                "steps[0]: step kind 'delay' is planned but not supported yet",
                "steps[1].sync_to_app.sms_subscription_group_id: must be a Braze subscription "
                "group ID (a UUID like '0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a'), got "
                "'not-a-uuid'",
                "steps[2]: unknown step kind 'send_sms' (supported: sync_to_app)",
            ],
        ),
        (
            "empty.json",
            [
                "name: must not be empty",
                "trigger.event: must not be empty",
                "trigger.designs: must be a list of design ids, got a text",
                "steps: must list at least one step (sync_to_app)",
            ],
        ),
        (
            "too-deep.yaml",
            [
                "conditions.all[0].any[0].all[0].any[0].all[0].any: conditions nested deeper "
                "than 5 levels"
            ],
        ),
        (
            "syntax-error.yaml",
            ["invalid YAML at line 4, column 11: mapping values are not allowed here"],
        ),
    ],
)
def test_invalid_files_name_exactly_their_problems(file: str, expected: list[str]) -> None:
    assert problems_of(DATA / "invalid" / file) == expected


def test_every_invalid_file_has_expectations() -> None:
    tested = {
        "unknown-keys.yaml",
        "bad-operators.yaml",
        "planned-step.yaml",
        "empty.json",
        "too-deep.yaml",
        "syntax-error.yaml",
    }
    assert {p.name for p in (DATA / "invalid").iterdir()} == tested


@pytest.mark.parametrize("kind", ["if_then", "update_profile", "delay", "webhook"])
def test_planned_step_kinds_are_refused_by_name(kind: str) -> None:
    data = minimal()
    data["steps"] = [*data["steps"], {kind: {}}]  # type: ignore[misc]
    assert problems_of(data) == [f"steps[1]: step kind {kind!r} is planned but not supported yet"]


def test_a_required_key_missing_everywhere_is_named() -> None:
    assert problems_of({}) == [
        "name: required",
        "trigger: required (the event type that enrolls a visitor)",
        "steps: required (a list starting with sync_to_app)",
    ]


def test_the_name_is_at_most_200_characters() -> None:
    assert load(minimal(name="x" * 200)).name == "x" * 200
    assert problems_of(minimal(name="x" * 201)) == ["name: longer than 200 characters"]


def test_names_and_ids_are_trimmed() -> None:
    w = load(minimal(name="  Spring  ", trigger={"event": " form_submitted ", "designs": [" a "]}))
    assert (w.name, w.trigger) == ("Spring", Trigger("form_submitted", ("a",)))


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            {"property": "country", "op": "equals", "value": "US"},
            "conditions: must have exactly one of 'all' or 'any' "
            "(wrap a single condition in 'all:')",
        ),
        ({"all": [], "any": []}, "conditions: must have exactly one of 'all' or 'any'"),
        ({"all": "country"}, "conditions.all: must be a list of conditions, got a text"),
        ({"all": [{"op": "exists"}]}, "conditions.all[0].property: required"),
        (
            {"all": [{"property": "x", "op": "in", "value": []}]},
            "conditions.all[0].value: operator 'in' needs a non-empty list, got an empty list",
        ),
        (
            {"all": [{"property": "x", "op": "in", "value": ["a", {"b": 1}]}]},
            "conditions.all[0].value[1]: must be a text, a number or true/false, got a mapping",
        ),
        (
            {"all": [{"property": "x", "op": "equals", "value": " "}]},
            "conditions.all[0].value: must not be empty (use not_exists to test for a missing "
            "value)",
        ),
        (
            {"all": [{"property": "x", "op": "gt", "value": True}]},
            "conditions.all[0].value: operator 'gt' needs a number or an ISO date, got a boolean",
        ),
        (
            {"all": [{"property": "x", "op": 3}]},
            "conditions.all[0].op: must be an operator name, got a number",
        ),
        (
            {"all": [{"property": "x", "op": "equals", "value": float("nan")}]},
            "conditions.all[0].value: must be a text, a number or true/false, got a number",
        ),
        (
            {"any": ["country"]},
            "conditions.any[0]: must be a mapping {property, op, value}, got a text",
        ),
    ],
)
def test_condition_problems(conditions: object, expected: str) -> None:
    assert problems_of(minimal(conditions=conditions)) == [expected]


def test_order_operators_accept_iso_dates_and_date_times() -> None:
    for value in ("2026-01-01", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00+02:00", 2.5, -3):
        load(minimal(conditions={"all": [{"property": "x", "op": "lt", "value": value}]}))
    assert problems_of(
        minimal(conditions={"all": [{"property": "x", "op": "lt", "value": "2026-13-01"}]})
    ) == ["conditions.all[0].value: operator 'lt' needs a number or an ISO date, got '2026-13-01'"]


def test_steps_must_be_mappings_with_one_kind() -> None:
    assert problems_of(minimal(steps=[{"sync_to_app": {}, "delay": {}}, "sync_to_app"])) == [
        "steps[0]: must be a mapping with exactly one step kind, like sync_to_app:",
        "steps[1]: must be a mapping with exactly one step kind, like sync_to_app:",
    ]


def test_a_design_listed_twice_is_a_problem() -> None:
    assert problems_of(minimal(trigger={"event": "e", "designs": ["a", "a"]})) == [
        "trigger.designs[1]: design 'a' is listed twice"
    ]


# --------------------------------------------------------------------------- text and files


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "workflow: must be a mapping, got a list"),
        ("", "workflow: must be a mapping, got null"),
        (
            "name: &n x\ntrigger: *n\n",
            "invalid YAML at line 2, column 10: anchors and aliases are not supported",
        ),
        ("name: a\nname: b\n", "invalid YAML at line 2, column 1: duplicate key 'name'"),
        ('{"name": "a", "name": "b"}', "invalid JSON: duplicate key 'name'"),
        (
            '{"name": "a",',
            "invalid JSON at line 1, column 14: Expecting property name enclosed in double quotes",
        ),
        ("[" * 10000, "the document is nested too deeply"),
    ],
)
def test_unreadable_text_is_one_clear_problem(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_bytes_and_a_byte_order_mark_are_accepted_but_not_other_encodings() -> None:
    text = dump(load(minimal()))
    assert load(("\ufeff" + text).encode()) == load(minimal())
    assert problems_of("name: Café".encode("latin-1")) == ["not UTF-8 text (byte 9)"]


def test_an_unreadable_file_is_a_workflow_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert problems_of(missing) == [f"{missing}: cannot read the file (No such file or directory)"]


def test_yaml_flow_mapping_text_is_read_as_yaml() -> None:
    step = f"{{sync_to_app: {{app: braze, sms_subscription_group_id: {SMS_GROUP}}}}}"
    text = f"{{name: x, trigger: {{event: e}}, steps: [{step}]}}"
    assert load(text).name == "x"


# --------------------------------------------------------------------------- dump


def test_dump_writes_the_documented_canonical_yaml() -> None:
    w = load_file(DATA / "valid" / "spring-lead-capture.yaml")
    assert dump(w) == (
        "name: Spring lead capture\n"
        "trigger:\n"
        "  event: form_submitted\n"
        "  designs: [spring-popup]\n"
        "conditions:\n"
        "  all:\n"
        "    - {property: country, op: equals, value: US}\n"
        "    - {property: page_views, op: gte, value: 2}\n"
        "reenroll: every_event\n"
        "steps:\n"
        "  - sync_to_app:\n"
        "      app: braze\n"
        "      connection: default\n"
        "      identify_by: email\n"
        "      default_region: US\n"
        f"      sms_subscription_group_id: {SMS_GROUP}\n"
        f"      email_subscription_group_id: {EMAIL_GROUP}\n"
        "      properties:\n"
        "        - {from: birthday, to: dob}\n"
        "        - {from: interests, to: interests}\n"
        "      send_event: justuno_form_submitted\n"
    )


def test_dump_writes_defaults_explicitly_and_leaves_out_absent_conditions() -> None:
    data = yaml.safe_load(dump(load_file(DATA / "valid" / "minimal.yaml")))
    assert data == {
        "name": "Demo lead capture",
        "trigger": {"event": "form_submitted", "designs": []},
        "reenroll": "every_event",
        "steps": [
            {
                "sync_to_app": {
                    "app": "braze",
                    "identify_by": "email",
                    "sms_subscription_group_id": SMS_GROUP,
                }
            }
        ],
    }


def test_dumped_yaml_means_the_same_to_a_yaml_1_1_reader() -> None:
    w = load_file(DATA / "valid" / "nordic-returning-visitors.yaml")
    text = dump(w)
    assert "value: ['NO', SE, DK, FI, IS]" in text
    # PyYAML's default (YAML 1.1) reader gets the same values back as we do.
    assert load(yaml.safe_load(text)) == w


@pytest.mark.parametrize("path", sorted((DATA / "valid").iterdir()), ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_valid_files_round_trip(path: Path, fmt: str) -> None:
    w = load_file(path)
    text = dump(w, fmt)  # type: ignore[arg-type]
    assert load(text) == w
    assert dump(load(text), fmt) == text  # type: ignore[arg-type]


def test_json_dump_is_plain_json_in_the_documented_order() -> None:
    data = json.loads(dump(load_file(DATA / "valid" / "spring-lead-capture.yaml"), "json"))
    assert list(data) == ["name", "trigger", "conditions", "reenroll", "steps"]
    assert data["conditions"]["all"][1] == {"property": "page_views", "op": "gte", "value": 2}


def test_dump_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown workflow file format 'toml'"):
        dump(load(minimal()), "toml")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Braze schema


def test_schema_problems_and_warnings_carry_the_step_path() -> None:
    from justuno_braze.braze.attributes import AttributeSchema

    schema = AttributeSchema.from_api([{"name": "pets", "data_type": "Object Array"}])
    first = {"app": "braze", "sms_subscription_group_id": SMS_GROUP}
    second = {**first, "properties": [{"from": "pet", "to": "pets"}, {"from": "x", "to": "y"}]}
    w = load(minimal(steps=[{"sync_to_app": first}, {"sync_to_app": second}]))
    assert w.problems(schema) == [
        "steps[1].sync_to_app.properties[0].to: Braze attribute 'pets' is an Array of "
        "objects; Sync Another Property cannot write Object or Array of objects attributes"
    ]
    assert w.warnings(schema) == [
        "steps[1].sync_to_app.properties[1].to: Braze has no custom attribute 'y' yet; "
        "Braze will create it with an auto-detected type"
    ]
    assert load_file(DATA / "valid" / "minimal.yaml").problems(schema) == []
