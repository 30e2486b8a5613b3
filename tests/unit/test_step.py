"""The Sync to App → Braze step settings: validation with paths, round trip, schema checks."""

from __future__ import annotations

from typing import Any

import pytest

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.step import PropertyMapping, SyncToApp
from justuno_braze.errors import WorkflowError

SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL = "4e1d2c3b-5a6f-4789-8abc-def012345678"
P = "steps[0].sync_to_app"


def settings(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"app": "braze", "sms_subscription_group_id": SMS}
    d.update(over)
    return {k: v for k, v in d.items() if v is not ...}


def problems_of(d: object, prefix: str = P) -> list[str]:
    with pytest.raises(WorkflowError) as err:
        SyncToApp.from_dict(d, prefix=prefix)
    return err.value.problems


def test_minimal_step_gets_the_defaults() -> None:
    step = SyncToApp.from_dict(settings())
    assert step == SyncToApp(sms_subscription_group_id=SMS)
    assert step.identify_by == "email"
    assert step.email_subscription_group_id is None
    assert step.properties == ()
    assert step.send_event is None


def test_full_step_round_trips_through_to_dict() -> None:
    d = {
        "app": "braze",
        "connection": "default",
        "identify_by": "external_id:customer_id",
        "default_region": "US",
        "sms_subscription_group_id": SMS,
        "email_subscription_group_id": EMAIL,
        "properties": [{"from": "birthday", "to": "dob"}, {"from": "interests", "to": "interests"}],
        "send_event": "justuno_form_submitted",
    }
    step = SyncToApp.from_dict(d)
    assert step.properties == (
        PropertyMapping("birthday", "dob"),
        PropertyMapping("interests", "interests"),
    )
    assert step.external_id_property == "customer_id"
    assert step.to_dict() == d
    assert SyncToApp.from_dict(step.to_dict()) == step


def test_values_are_tidied() -> None:
    step = SyncToApp.from_dict(
        settings(
            sms_subscription_group_id=" " + SMS.upper() + " ",
            default_region="br",
            email_subscription_group_id="",
            identify_by=" alias ",
        )
    )
    assert step.sms_subscription_group_id == SMS
    assert step.default_region == "BR"
    assert step.email_subscription_group_id is None  # a blank optional form field
    assert step.identify_by == "alias"


def test_sms_group_is_required_and_named_with_its_path() -> None:
    problems = problems_of(settings(sms_subscription_group_id=...))
    assert len(problems) == 1
    assert problems[0].startswith(f"{P}.sms_subscription_group_id: required")


def test_every_problem_is_reported_at_once_with_paths() -> None:
    problems = problems_of(
        {
            "app": "klaviyo",
            "identify_by": "phone",
            "default_region": "Brazil",
            "sms_subscription_group_id": "not-a-uuid",
            "email_subscription_group_id": 12,
            "properties": [
                {"from": "handle", "to": "instagram", "type": "string"},
                {"from": "", "to": "x"},
                {"from": "customer", "to": "external_id"},
                {"from": "a", "to": "fav"},
                {"from": "b", "to": "fav"},
                "birthday",
            ],
            "send_event": "$bad",
            "sms_group": SMS,
        }
    )
    text = "\n".join(problems)
    expected_paths = [
        f"{P}.sms_group: unknown setting",
        f"{P}.app: must be 'braze'",
        f"{P}.identify_by: must be one of email, alias, external_id:<property>",
        f"{P}.default_region: must be a 2-letter country code",
        f"{P}.sms_subscription_group_id: must be a Braze subscription group ID",
        f"{P}.email_subscription_group_id: must be a Braze subscription group ID",
        f"{P}.properties[0]: unknown key(s) 'type'",
        f"{P}.properties[1].from: must be a non-empty name",
        f"{P}.properties[2].to: 'external_id' is a Braze identifier",
        f"{P}.properties[4].to: 'fav' is already the target of {P}.properties[3]",
        f"{P}.properties[5]: must be a mapping",
        f"{P}.send_event: a Braze event name cannot start with '$'",
    ]
    for fragment in expected_paths:
        assert fragment in text
    assert len(problems) == len(expected_paths)


@pytest.mark.parametrize("target", ["external_id", "user_alias", "braze_id"])
def test_identifier_targets_are_refused(target: str) -> None:
    problems = problems_of(settings(properties=[{"from": "x", "to": target}]))
    assert problems == [
        f"{P}.properties[0].to: {target!r} is a Braze identifier; identity is chosen with "
        "identify_by"
    ]


@pytest.mark.parametrize(
    "target", ["email", "phone", "subscription_groups", "facebook", "_merge_objects", "$x"]
)
def test_other_fields_a_mapping_must_not_write_are_refused(target: str) -> None:
    problems = problems_of(settings(properties=[{"from": "x", "to": target}]))
    assert len(problems) == 1 and problems[0].startswith(f"{P}.properties[0].to: ")


@pytest.mark.parametrize("target", ["dob", "home_city", "time_zone", "first_name", "country"])
def test_standard_fields_are_valid_targets(target: str) -> None:
    step = SyncToApp.from_dict(settings(properties=[{"from": "x", "to": target}]))
    assert step.properties == (PropertyMapping("x", target),)


@pytest.mark.parametrize(
    ("identify_by", "ok"),
    [
        ("email", True),
        ("alias", True),
        ("external_id:shop_customer_id", True),
        ("external_id:", False),
        ("external_id", False),
        ("external_id:has space", False),
        ("braze_id", False),
        (None, False),
    ],
)
def test_identify_by(identify_by: object, ok: bool) -> None:
    d = settings(identify_by=identify_by)
    if ok:
        assert SyncToApp.from_dict(d).identify_by == identify_by
    else:
        assert problems_of(d)[0].startswith(f"{P}.identify_by: ")


@pytest.mark.parametrize(
    ("name", "ok"),
    [("justuno_form_submitted", True), ("", False), ("x" * 256, False), (3, False)],
)
def test_send_event_name(name: object, ok: bool) -> None:
    d = settings(send_event=name)
    if ok:
        assert SyncToApp.from_dict(d).send_event == name
    else:
        assert problems_of(d)[0].startswith(f"{P}.send_event: ")


def test_not_a_mapping() -> None:
    assert problems_of(["app", "braze"]) == [f"{P}: must be a mapping of settings, got list"]


def test_app_is_required() -> None:
    assert problems_of({"sms_subscription_group_id": SMS}) == [
        f"{P}.app: required (Select App → 'braze')"
    ]


SCHEMA = AttributeSchema.from_api(
    [
        {"name": "pets", "data_type": "Object Array"},
        {"name": "address", "data_type": "Object"},
        {"name": "old_score", "data_type": "Number", "status": "Blocklisted"},
        {"name": "interests", "data_type": "Array", "status": "Active"},
    ]
)


def test_schema_problems_refuse_object_and_blocklisted_targets() -> None:
    step = SyncToApp.from_dict(
        settings(
            properties=[
                {"from": "pet_list", "to": "pets"},
                {"from": "interests", "to": "interests"},
                {"from": "addr", "to": "address"},
                {"from": "score", "to": "old_score"},
                {"from": "brand new", "to": "shoe_size"},
                {"from": "birthday", "to": "dob"},
            ]
        )
    )
    assert step.problems(SCHEMA, prefix=P) == [
        f"{P}.properties[0].to: Braze attribute 'pets' is an Array of objects; Sync Another "
        "Property cannot write Object or Array of objects attributes",
        f"{P}.properties[2].to: Braze attribute 'address' is an Object; Sync Another "
        "Property cannot write Object or Array of objects attributes",
        f"{P}.properties[3].to: Braze attribute 'old_score' is blocklisted; Braze does not "
        "process blocklisted attributes",
    ]
    # an attribute Braze does not know is a warning for preview, not a problem
    assert step.warnings(SCHEMA, prefix=P) == [
        f"{P}.properties[4].to: Braze has no custom attribute 'shoe_size' yet; Braze will "
        "create it with an auto-detected type"
    ]


def test_without_a_schema_nothing_is_refused() -> None:
    step = SyncToApp.from_dict(settings(properties=[{"from": "p", "to": "pets"}]))
    assert step.problems(None) == []
    assert step.warnings(None) == [
        "sync_to_app.properties[0].to: 'pets' not checked (no Braze custom-attribute list "
        "available)"
    ]
