"""The pure helpers of the workflow pages: preview marking, change rows, target picker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from justuno_braze.web.ui.workflow_form import NEW_TARGET, MappingRow
from justuno_braze.web.ui.workflow_preview import body_lines, readable, sample_event, warned_keys
from justuno_braze.web.ui.workflow_targets import shown_rows, target_picker
from justuno_braze.web.ui.workflow_versions import change_rows, diff_lines

DRAFT: dict[str, Any] = {
    "name": "x",
    "trigger": {"event": "form_submitted", "designs": ["exit-intent"]},
    "steps": [
        {
            "sync_to_app": {
                "app": "braze",
                "sms_subscription_group_id": "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a",
                "properties": [{"from": "birthday", "to": "dob"}, {"from": "tier", "to": "tier_x"}],
            }
        }
    ],
}


def test_warnings_name_the_mapping_row_and_mark_its_body_key() -> None:
    warnings = [
        "steps[0].sync_to_app.properties[1].to: Braze has no custom attribute 'tier_x' yet",
        "phone: is not a valid number; text value left out",
        "birthday → dob: not a date; text value left out",
    ]
    assert (
        readable(warnings[0], DRAFT) == "tier → tier_x: Braze has no custom attribute 'tier_x' yet"
    )
    assert readable(warnings[1], DRAFT) == warnings[1]
    assert warned_keys(warnings, DRAFT) == {"tier_x", "phone", "dob"}
    body = {"attributes": [{"email": "a@b.co", "tier_x": "gold"}]}
    lines = body_lines(body, {"tier_x"})
    assert "\n".join(line for _, line in lines) == json.dumps(body, indent=2)
    assert [line.strip() for marked, line in lines if marked] == ['"tier_x": "gold"']


def test_the_sample_event_fills_every_mapped_property() -> None:
    event = sample_event(DRAFT, datetime(2026, 11, 29, 10, tzinfo=UTC))
    assert event["type"] == "form_submitted"
    assert event["design_id"] == "exit-intent"
    assert event["occurred_at"] == "2026-11-29T10:00:00Z"
    assert event["properties"]["birthday"] == "1990-04-12"
    assert event["properties"]["tier"] == "sample tier"


def test_changes_read_with_text_markers() -> None:
    rows = change_rows(
        [
            "steps[0].sync_to_app.properties: added {from: a, to: b}",
            "steps[0].sync_to_app.send_event: removed e",
            "name: Old → New",
        ]
    )
    assert [(r.marker, r.kind, r.path, r.text) for r in rows] == [
        ("+", "added", "steps[0].sync_to_app.properties", "{from: a, to: b}"),
        ("−", "removed", "steps[0].sync_to_app.send_event", "e"),
        ("~", "changed", "name", "Old → New"),
    ]
    kinds = [k for k, _ in diff_lines("--- v1\n+++ v2\n@@ -1 +1 @@\n-name: a\n+name: b\n x\n")]
    assert kinds == ["file", "file", "hunk", "removed", "added", "same"]


def test_the_picker_disables_object_targets_with_the_reason() -> None:
    picker = target_picker(
        [
            {"name": "size", "data_type": "Number"},
            {"name": "addr", "data_type": "Object"},
            {"name": "orders", "data_type": "Object Array"},
            {"name": "old", "data_type": "String", "status": "Blocklisted"},
        ]
    )
    assert picker.custom is not None
    by_value = {o.value: o for o in picker.custom}
    assert not by_value["size"].disabled
    assert by_value["size"].text == "size (Number)"
    for name in ("addr", "orders", "old"):
        assert by_value[name].disabled
        assert "not selectable" in by_value[name].text
    assert "Array of objects" in by_value["orders"].text
    assert "dob" in picker.selectable
    assert "addr" not in picker.selectable
    assert target_picker(None).custom is None


def test_a_target_the_list_cannot_select_shows_as_new_attribute() -> None:
    picker = target_picker([{"name": "size", "data_type": "Number"}])
    rows = shown_rows([MappingRow("a", "size"), MappingRow("b", "brand_new")], picker)
    assert rows == [MappingRow("a", "size"), MappingRow("b", NEW_TARGET, "brand_new")]
