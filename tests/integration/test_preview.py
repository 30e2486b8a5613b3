"""``justuno-braze preview`` through the real CLI (Typer's runner: stdout and stderr apart).

stdout must be exactly the ``/users/track`` body; warnings, skips and errors go to stderr;
exit 0 sent, 3 skipped, 2 invalid input or workflow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from justuno_braze.cli import app

DATA = Path(__file__).parents[1] / "data"
SPRING = DATA / "workflows" / "valid" / "spring-lead-capture.yaml"
MINIMAL = DATA / "workflows" / "valid" / "minimal.yaml"
SMS_GROUP = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL_GROUP = "4e1d2c3b-5a6f-4789-8abc-def012345678"

# A visitor who looked at two pages (the Spring workflow needs page_views >= 2 and country
# US) and then submitted the spring pop-up, ticking the SMS consent box.
ANA = [
    {
        "event_id": "ana-1",
        "type": "page_view",
        "visitor_id": "jv_ana",
        "occurred_at": "2026-11-20T10:00:00Z",
        "page_url": "https://shop.example/",
    },
    {
        "event_id": "ana-2",
        "type": "page_view",
        "visitor_id": "jv_ana",
        "occurred_at": "2026-11-20T10:02:00Z",
        "page_url": "https://shop.example/sale",
        "properties": {"country": "United States"},
    },
    {
        "event_id": "ana-3",
        "type": "form_submitted",
        "visitor_id": "jv_ana",
        "occurred_at": "2026-11-20T10:03:00Z",
        "design_id": "spring-popup",
        "page_url": "https://shop.example/sale",
        "properties": {
            "email": " Ana.Silva@Example.COM ",
            "sms": "(303) 555-0105",
            "first_name": " ana ",
            "last_name": "Silva",
            "language": "Português",
            "gender": "feminino",
            "birthday": "1990-04-01",
            "interests": ["cooking", "travel"],
        },
        "consent": {"sms": True},
    },
]


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, ["preview", *map(str, args)], catch_exceptions=False)


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def jsonl(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    return write(tmp_path, "events.jsonl", "\n".join(json.dumps(e) for e in events) + "\n")


def test_known_lead_prints_exactly_the_track_body(tmp_path: Path) -> None:
    result = run("--workflow", SPRING, "--event", jsonl(tmp_path, ANA))
    assert result.exit_code == 0, result.stderr
    expected_identity = {"email": "ana.silva@example.com"}
    assert json.loads(result.stdout) == {
        "attributes": [
            {
                **expected_identity,
                "phone": "+13035550105",  # parsed with the profile's country (US)
                "first_name": "ana",
                "last_name": "Silva",
                "language": "pt",
                "gender": "F",
                "country": "US",
                "dob": "1990-04-01",
                "interests": ["cooking", "travel"],
                "subscription_groups": [
                    {"subscription_group_id": SMS_GROUP, "subscription_state": "subscribed"},
                    {"subscription_group_id": EMAIL_GROUP, "subscription_state": "subscribed"},
                ],
            }
        ],
        "events": [
            {
                **expected_identity,
                "name": "justuno_form_submitted",
                "time": "2026-11-20T10:03:00Z",
                "properties": {
                    "design_id": "spring-popup",
                    "page_url": "https://shop.example/sale",
                    "event_id": "ana-3",
                },
            }
        ],
    }
    # pretty, non-ASCII kept as is, and nothing but the body on stdout
    assert result.stdout.startswith("{\n  ")
    assert "warning:" not in result.stdout
    # without a custom-attribute list the unknown target is pointed out on stderr
    assert "warning: steps[0].sync_to_app.properties[1].to: 'interests'" in result.stderr


def test_custom_attribute_list_silences_the_unchecked_warning(tmp_path: Path) -> None:
    attrs = write(tmp_path, "attrs.json", [{"name": "interests", "data_type": "Array"}])
    result = run(
        "--workflow", SPRING, "--event", jsonl(tmp_path, ANA), "--custom-attributes", attrs
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["attributes"][0]["interests"] == ["cooking", "travel"]


def test_an_object_target_is_refused_with_exit_2(tmp_path: Path) -> None:
    attrs = write(
        tmp_path, "attrs.json", {"attributes": [{"name": "interests", "data_type": "Object"}]}
    )
    result = run(
        "--workflow", SPRING, "--event", jsonl(tmp_path, ANA), "--custom-attributes", attrs
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "steps[0].sync_to_app.properties[1].to" in result.stderr
    assert "an Object" in result.stderr


def test_one_event_that_fails_the_conditions_is_skipped_with_exit_3(tmp_path: Path) -> None:
    # only the last event: one page view is not enough, and no country is known
    result = run("--workflow", SPRING, "--event", write(tmp_path, "e.json", ANA[-1]))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "skipped: not_enrolled: condition failed" in result.stderr


def test_a_design_outside_the_trigger_is_skipped_with_the_reason(tmp_path: Path) -> None:
    sample = json.loads((DATA / "justuno-events-sample.jsonl").read_text("utf-8").splitlines()[0])
    assert sample["design_id"] == "footer-signup"
    result = run("--workflow", SPRING, "--event", write(tmp_path, "e.json", sample))
    assert result.exit_code == 3
    assert "skipped: not_enrolled: design 'footer-signup' is not one of [spring-popup]" in (
        result.stderr
    )


def test_no_identifier_is_skipped_with_exit_3(tmp_path: Path) -> None:
    event = {**ANA[-1], "properties": {"first_name": "Ana", "email": "not-an-email"}}
    result = run("--workflow", MINIMAL, "--event", write(tmp_path, "e.json", event))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "warning: email: " in result.stderr
    assert "skipped: no_identifier" in result.stderr


def test_sample_events_preview_to_normalised_emails(tmp_path: Path) -> None:
    """Every form of the sample through the minimal workflow: sent with the normalised
    email as identifier, or skipped for want of one — never anything else."""
    lines = (DATA / "justuno-events-sample.jsonl").read_text("utf-8").splitlines()
    forms = [json.loads(line) for line in lines if '"form_submitted"' in line][:25]
    sent = skipped = 0
    for i, event in enumerate(forms):
        result = run("--workflow", MINIMAL, "--event", write(tmp_path, f"e{i}.json", event))
        assert result.exit_code in (0, 3), result.stderr
        if result.exit_code == 3:
            skipped += 1
            assert "skipped: no_identifier" in result.stderr
            continue
        sent += 1
        body = json.loads(result.stdout)
        obj = body["attributes"][0]
        raw = event["properties"].get("email")
        if "email" in obj:
            assert obj["email"] == raw.strip().lower()
        else:
            assert obj["phone"].startswith("+")
        assert "events" not in body  # the minimal workflow sends no custom event
    assert sent > 15 and skipped >= 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**ANA[-1], "consent": {"sms": "yes"}}, "consent.sms"),
        ({**ANA[-1], "occurred_at": "yesterday"}, "occurred_at"),
        ({k: v for k, v in ANA[-1].items() if k != "visitor_id"}, "visitor_id"),
    ],
)
def test_an_invalid_event_names_the_field_with_exit_2(
    tmp_path: Path, event: dict[str, Any], field: str
) -> None:
    result = run("--workflow", SPRING, "--event", write(tmp_path, "e.json", event))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{field}: " in result.stderr


def test_an_invalid_event_in_a_list_names_its_position(tmp_path: Path) -> None:
    events = [ANA[0], {**ANA[1], "ip": "999.1.1.1"}, ANA[2]]
    result = run("--workflow", SPRING, "--event", write(tmp_path, "e.json", events))
    assert result.exit_code == 2
    assert "events[1].ip: is not an IPv4 or IPv6 address" in result.stderr


def test_an_invalid_workflow_lists_every_problem_with_exit_2(tmp_path: Path) -> None:
    bad = DATA / "workflows" / "invalid" / "bad-operators.yaml"
    result = run("--workflow", bad, "--event", write(tmp_path, "e.json", ANA[-1]))
    assert result.exit_code == 2
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(problems) >= 5
    assert any("unknown operator 'greater'" in p for p in problems)
    assert any("reenroll" in p for p in problems)


@pytest.mark.parametrize("which", ["workflow", "event", "custom-attributes"])
def test_an_unreadable_file_exits_2_naming_the_path(tmp_path: Path, which: str) -> None:
    missing = tmp_path / "nope" / f"{which}.json"
    args = {
        "workflow": SPRING,
        "event": write(tmp_path, "e.json", ANA[-1]),
        "custom-attributes": None,
    }
    args[which] = missing
    flat = [part for key, value in args.items() if value for part in (f"--{key}", value)]
    result = run(*flat)
    assert result.exit_code == 2
    assert str(missing) in result.stderr


def test_event_file_that_is_not_json_exits_2(tmp_path: Path) -> None:
    result = run("--workflow", SPRING, "--event", write(tmp_path, "e.json", "{not json"))
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
