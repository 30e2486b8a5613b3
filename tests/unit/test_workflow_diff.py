"""Human-readable differences between workflow versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from justuno_braze.workflows.diff import diff, render, unified
from justuno_braze.workflows.model import Workflow, load, load_file

DATA = Path(__file__).parents[1] / "data" / "workflows"
SPRING = load_file(DATA / "valid" / "spring-lead-capture.yaml")


def edited(change: Any) -> Workflow:
    data = SPRING.to_dict()
    change(data)
    return load(data)


def step(data: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = data["steps"][0]["sync_to_app"]
    return settings


def test_equal_versions_have_no_changes() -> None:
    json_twin = load_file(DATA / "valid" / "spring-lead-capture.json")
    assert diff(SPRING, json_twin) == []
    assert unified(SPRING, json_twin) == ""


def test_scalar_and_list_changes_show_old_and_new() -> None:
    def change(d: dict[str, Any]) -> None:
        d["name"] = "Spring leads"
        d["trigger"]["designs"].append("exit-intent")
        d["conditions"]["all"][1]["value"] = 3
        d["reenroll"] = "once"

    assert diff(SPRING, edited(change)) == [
        "name: Spring lead capture → Spring leads",
        "trigger.designs: [spring-popup] → [spring-popup, exit-intent]",
        "conditions.all[1].value: 2 → 3",
        "reenroll: every_event → once",
    ]


def test_rows_added_removed_and_changed() -> None:
    def change(d: dict[str, Any]) -> None:
        step(d)["properties"].insert(1, {"from": "shoe_size", "to": "shoe_size"})
        step(d)["properties"][0]["to"] = "birthday"
        del step(d)["send_event"]

    assert diff(SPRING, edited(change)) == [
        "steps[0].sync_to_app.properties[0].to: dob → birthday",
        "steps[0].sync_to_app.properties: added {from: shoe_size, to: shoe_size}",
        "steps[0].sync_to_app.send_event: removed justuno_form_submitted",
    ]
    assert diff(edited(change), SPRING) == [
        "steps[0].sync_to_app.properties: removed {from: shoe_size, to: shoe_size}",
        "steps[0].sync_to_app.properties[0].to: birthday → dob",
        "steps[0].sync_to_app.send_event: added justuno_form_submitted",
    ]


def test_conditions_added_removed_and_regrouped() -> None:
    def add(d: dict[str, Any]) -> None:
        d["conditions"]["all"].append({"property": "channel", "op": "in", "value": ["email"]})

    assert diff(SPRING, edited(add)) == [
        "conditions.all: added {property: channel, op: in, value: [email]}"
    ]

    def drop(d: dict[str, Any]) -> None:
        del d["conditions"]

    assert diff(SPRING, edited(drop)) == [
        "conditions: removed {all: [{property: country, op: equals, value: US}, "
        "{property: page_views, op: gte, value: 2}]}"
    ]

    def regroup(d: dict[str, Any]) -> None:
        d["conditions"] = {"any": d["conditions"]["all"]}

    assert diff(SPRING, edited(regroup)) == [
        "conditions.all: removed [{property: country, op: equals, value: US}, "
        "{property: page_views, op: gte, value: 2}]",
        "conditions.any: added [{property: country, op: equals, value: US}, "
        "{property: page_views, op: gte, value: 2}]",
    ]


def test_render_quotes_only_what_would_be_ambiguous() -> None:
    assert render({"a": ["x y", "a, b", "", " pad", True, None, 1.5]}) == (
        '{a: [x y, "a, b", "", " pad", true, null, 1.5]}'
    )


def test_unified_diff_of_the_dumped_files() -> None:
    def change(d: dict[str, Any]) -> None:
        d["reenroll"] = "once_per_session"

    text = unified(SPRING, edited(change), labels=("v1", "v2"))
    assert text.startswith("--- v1\n+++ v2\n")
    assert "-reenroll: every_event\n+reenroll: once_per_session\n" in text
