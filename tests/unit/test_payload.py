"""Profile + Sync to App step → the Braze attributes object, event and consent decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.braze.payload import Payload, Skip, build, track_body
from justuno_braze.braze.step import SyncToApp
from justuno_braze.events import Event, Profile, merge, parse_event

SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL = "4e1d2c3b-5a6f-4789-8abc-def012345678"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SMS_SUBSCRIBED = {"subscription_group_id": SMS, "subscription_state": "subscribed"}
EMAIL_SUBSCRIBED = {"subscription_group_id": EMAIL, "subscription_state": "subscribed"}

NOAH = {
    "email": " Noah.Rossi1@Example.com",
    "sms": "21 98765-4301",
    "country": "Brasil",
    "language": "Português",
    "gender": "Female",
}

SCHEMA = AttributeSchema.from_api(
    [
        {"name": "interests", "data_type": "Array", "array_length": 25, "status": "Active"},
        {"name": "shoe_size", "data_type": "Number (Automatically Detected)"},
        {"name": "vip", "data_type": "Boolean"},
        {"name": "last_quiz_at", "data_type": "Date"},
        {"name": "skin_type", "data_type": "String"},
        {"name": "pets", "data_type": "Object Array"},
        {"name": "legacy_score", "data_type": "Number", "status": "Blocklisted"},
    ]
)


def step(**over: Any) -> SyncToApp:
    d: dict[str, Any] = {
        "app": "braze",
        "sms_subscription_group_id": SMS,
        "email_subscription_group_id": EMAIL,
    }
    d.update(over)
    return SyncToApp.from_dict({k: v for k, v in d.items() if v is not None})


def event_for(properties: dict[str, Any], **over: Any) -> Event:
    d: dict[str, Any] = {
        "event_id": "ev-1",
        "type": "form_submitted",
        "visitor_id": "jv_957731af10",
        "occurred_at": "2026-11-15T11:19:00Z",
        "design_id": "quiz-popup",
        "page_url": "https://shop.example/sale",
        "properties": properties,
    }
    d.update(over)
    return parse_event(d)


def run(
    properties: dict[str, Any],
    the_step: SyncToApp | None = None,
    schema: AttributeSchema | None = SCHEMA,
    **event_over: Any,
) -> Payload | Skip:
    event = event_for(properties, **event_over)
    return build(merge(None, event), event, the_step or step(), schema, now=NOW)


def payload(*args: Any, **kwargs: Any) -> Payload:
    out = run(*args, **kwargs)
    assert isinstance(out, Payload), out
    return out


def test_brazilian_lead_gets_normalised_defaults_and_both_groups() -> None:
    p = payload(NOAH)
    assert p.attributes == {
        "email": "noah.rossi1@example.com",
        "phone": "+5521987654301",
        "country": "BR",
        "language": "pt",
        "gender": "F",
        "subscription_groups": [SMS_SUBSCRIBED, EMAIL_SUBSCRIBED],
    }
    assert p.user_key == "email:noah.rossi1@example.com"
    assert p.event is None
    assert p.warnings == []
    assert track_body([p]) == {"attributes": [p.attributes]}


def test_names_are_tidied_and_all_default_attributes_are_sent() -> None:
    p = payload(
        {
            "email": "ana@example.com",
            "phone": "(415) 555-0132",
            "first_name": "  Ana   Maria ",
            "last_name": "Souza",
            "language": "en-US",
            "gender": "prefer not to say",
            "country": "United States of America",
        }
    )
    assert p.attributes == {
        "email": "ana@example.com",
        "phone": "+14155550132",
        "first_name": "Ana Maria",
        "last_name": "Souza",
        "language": "en",
        "gender": "P",
        "country": "US",
        "subscription_groups": [SMS_SUBSCRIBED, EMAIL_SUBSCRIBED],
    }


def test_a_value_that_cannot_be_normalised_is_left_out_with_a_warning() -> None:
    p = payload({"email": "lena@example.com", "gender": "zebra-unicorn", "country": "Atlantis"})
    assert p.attributes == {
        "email": "lena@example.com",
        "subscription_groups": [EMAIL_SUBSCRIBED],  # no phone: no SMS entry
    }
    assert len(p.warnings) == 2
    assert p.warnings[0].startswith("country: ") and p.warnings[1].startswith("gender: ")
    assert all("left out" in w for w in p.warnings)
    assert not any("zebra" in w or "Atlantis" in w for w in p.warnings)


# --- the phone-parsing hint ---


def test_phone_uses_the_profile_country_before_the_default_region() -> None:
    p = payload(
        {"email": "a@example.com", "sms": "07911 123456", "country": "United Kingdom"},
        step(default_region="US"),
    )
    assert p.attributes["phone"] == "+447911123456"


def test_phone_falls_back_to_the_steps_default_region() -> None:
    p = payload({"email": "a@example.com", "sms": "21 98765-4301"}, step(default_region="BR"))
    assert p.attributes["phone"] == "+5521987654301"


def test_phone_without_any_hint_needs_a_country_code() -> None:
    p = payload({"email": "a@example.com", "sms": "21 98765-4301"})
    assert "phone" not in p.attributes
    assert [w for w in p.warnings if w.startswith("phone: ")]
    # an invalid phone never gets an SMS subscription
    assert p.attributes["subscription_groups"] == [EMAIL_SUBSCRIBED]


# --- identity ---


def test_email_identity_falls_back_to_the_phone() -> None:
    p = payload({"email": "not an email", "sms": "+55 21 98765 4312"})
    assert p.user_key == "phone:+5521987654312"
    assert p.attributes == {"phone": "+5521987654312", "subscription_groups": [SMS_SUBSCRIBED]}
    assert [w.split(":")[0] for w in p.warnings] == ["email"]


def test_no_valid_email_or_phone_is_skipped_with_the_reason() -> None:
    out = run({"first_name": "Yara", "sms": "12"})
    assert isinstance(out, Skip)
    assert out.reason == "no_identifier"
    assert out.detail == "no valid email or phone on the profile"
    assert [w.split(":")[0] for w in out.warnings] == ["phone"]


def test_alias_identity_creates_alias_only_profiles() -> None:
    p = payload({"email": "ana@example.com", "first_name": "Ana"}, step(identify_by="alias"))
    assert p.user_key == "alias:jv_957731af10"
    assert p.attributes == {
        "user_alias": {"alias_name": "jv_957731af10", "alias_label": "justuno_visitor_id"},
        "_update_existing_only": False,
        "email": "ana@example.com",
        "first_name": "Ana",
        "subscription_groups": [EMAIL_SUBSCRIBED],
    }


def test_alias_identity_needs_no_email_or_phone() -> None:
    p = payload({"first_name": "Yara"}, step(identify_by="alias"))
    assert p.attributes["user_alias"]["alias_name"] == "jv_957731af10"
    assert "subscription_groups" not in p.attributes  # no contact: no group entries


@pytest.mark.parametrize(("raw", "expected"), [("cust-42", "cust-42"), (1042, "1042")])
def test_external_id_identity(raw: object, expected: str) -> None:
    p = payload(
        {"email": "ana@example.com", "sms": "+14155550132", "customer_id": raw},
        step(identify_by="external_id:customer_id"),
    )
    assert p.user_key == f"external_id:{expected}"
    assert p.attributes == {
        "external_id": expected,
        "email": "ana@example.com",
        "phone": "+14155550132",
        "subscription_groups": [SMS_SUBSCRIBED, EMAIL_SUBSCRIBED],
    }


@pytest.mark.parametrize(
    ("props", "detail"),
    [
        ({"email": "ana@example.com"}, "property 'customer_id' is empty or missing"),
        (
            {"customer_id": "é" * 494},
            "property 'customer_id' is longer than Braze's 987 bytes for an external_id",
        ),
        ({"customer_id": True}, "property 'customer_id' is a boolean, not a text or whole number"),
    ],
)
def test_external_id_identity_skips_without_a_usable_id(props: dict[str, Any], detail: str) -> None:
    out = run(props, step(identify_by="external_id:customer_id"))
    assert isinstance(out, Skip)
    assert (out.reason, out.detail) == ("no_identifier", detail)


def test_external_id_of_exactly_987_bytes_is_accepted() -> None:
    p = payload({"customer_id": "a" + "é" * 493}, step(identify_by="external_id:customer_id"))
    assert len(p.attributes["external_id"].encode()) == 987


# --- consent, row by row (PRODUCT.md "Consent and subscription groups") ---

PHONE = "+14155550132"


@pytest.mark.parametrize(
    ("sms_group", "props", "consent", "entry", "state", "basis", "reason"),
    [
        # SMS group configured, valid phone, design without an SMS consent field
        (SMS, {"sms": PHONE}, None, True, "subscribed", "implicit", None),
        # ... design with the field, ticked
        (SMS, {"sms": PHONE}, {"sms": True}, True, "subscribed", "explicit", None),
        # ... design with the field, unticked: no entry, never "unsubscribed"
        (SMS, {"sms": PHONE}, {"sms": False}, False, "not_subscribed", "explicit", "unticked"),
        # an invalid phone never gets an SMS subscription
        (SMS, {"sms": "555"}, None, False, "not_subscribed", "implicit", "no_valid_phone"),
        (SMS, {"sms": "555"}, {"sms": True}, False, "not_subscribed", "explicit", "no_valid_phone"),
        (SMS, {}, None, False, "not_subscribed", "implicit", "no_valid_phone"),
    ],
)
def test_sms_consent_table(
    sms_group: str,
    props: dict[str, Any],
    consent: dict[str, bool] | None,
    entry: bool,
    state: str,
    basis: str,
    reason: str | None,
) -> None:
    p = payload(
        {"email": "ana@example.com", **props},
        step(email_subscription_group_id=None, sms_subscription_group_id=sms_group),
        consent=consent,
        ip="203.0.113.7",
        consent_text="Text me offers. Reply STOP to opt out.",
    )
    assert p.attributes.get("subscription_groups") == ([SMS_SUBSCRIBED] if entry else None)
    assert p.consent == [
        ConsentDecision(
            channel="sms",
            group_id=SMS,
            state=state,
            basis=basis,
            design_id="quiz-popup",
            consent_text="Text me offers. Reply STOP to opt out.",
            occurred_at=datetime(2026, 11, 15, 11, 19, tzinfo=UTC),
            ip="203.0.113.7",
            page_url="https://shop.example/sale",
            visitor_id="jv_957731af10",
            reason=reason,
        )
    ]
    assert "unsubscribed" not in str(p.attributes)


@pytest.mark.parametrize(
    ("props", "consent", "entry", "state", "basis", "reason"),
    [
        ({"email": "ana@example.com"}, None, True, "subscribed", "implicit", None),
        ({"email": "ana@example.com"}, {"email": True}, True, "subscribed", "explicit", None),
        (
            {"email": "ana@example.com"},
            {"email": False},
            False,
            "not_subscribed",
            "explicit",
            "unticked",
        ),
        # an SMS consent field says nothing about email
        ({"email": "ana@example.com"}, {"sms": False}, True, "subscribed", "implicit", None),
        (
            {"email": "bad@", "sms": PHONE},
            None,
            False,
            "not_subscribed",
            "implicit",
            "no_valid_email",
        ),
    ],
)
def test_email_consent_table(
    props: dict[str, Any],
    consent: dict[str, bool] | None,
    entry: bool,
    state: str,
    basis: str,
    reason: str | None,
) -> None:
    p = payload(props, consent=consent)
    groups = p.attributes.get("subscription_groups", [])
    assert [g for g in groups if g["subscription_group_id"] == EMAIL] == (
        [EMAIL_SUBSCRIBED] if entry else []
    )
    assert [(d.state, d.basis, d.reason) for d in p.consent if d.channel == "email"] == [
        (state, basis, reason)
    ]


def test_no_email_group_configured_means_no_email_entry_and_no_decision() -> None:
    p = payload(NOAH, step(email_subscription_group_id=None))
    assert p.attributes["subscription_groups"] == [SMS_SUBSCRIBED]
    assert [d.channel for d in p.consent] == ["sms"]


def test_both_channels_decided_independently() -> None:
    p = payload(NOAH, consent={"sms": False, "email": True})
    assert p.attributes["subscription_groups"] == [EMAIL_SUBSCRIBED]
    assert [(d.channel, d.state, d.basis) for d in p.consent] == [
        ("sms", "not_subscribed", "explicit"),
        ("email", "subscribed", "explicit"),
    ]


# --- Sync Another Property ---


def test_mappings_are_coerced_to_the_braze_type() -> None:
    the_step = step(
        properties=[
            {"from": "birthday", "to": "dob"},
            {"from": "interests", "to": "interests"},
            {"from": "shoes", "to": "shoe_size"},
            {"from": "vip_member", "to": "vip"},
            {"from": "quiz_done", "to": "last_quiz_at"},
            {"from": "quiz_skin_type", "to": "skin_type"},
            {"from": "city", "to": "home_city"},
            {"from": "tz", "to": "time_zone"},
        ]
    )
    p = payload(
        {
            "email": "ana@example.com",
            "birthday": "1978-03-24",
            "interests": ["yoga", "travel", "yoga"],
            "shoes": "42",
            "vip_member": "yes",
            "quiz_done": "2026-11-15T12:19:00+01:00",
            "quiz_skin_type": " dry ",
            "city": " São  Paulo ",
            "tz": "America/Sao_Paulo",
        },
        the_step,
    )
    assert p.attributes == {
        "email": "ana@example.com",
        "dob": "1978-03-24",
        "interests": ["yoga", "travel"],
        "shoe_size": 42,
        "vip": True,
        "last_quiz_at": "2026-11-15T11:19:00Z",
        "skin_type": "dry",
        "home_city": "São Paulo",
        "time_zone": "America/Sao_Paulo",
        "subscription_groups": [EMAIL_SUBSCRIBED],
    }
    assert p.warnings == []


def test_a_mapping_overrides_a_default_attribute() -> None:
    p = payload(
        {"email": "ana@example.com", "first_name": "Ana", "nickname": "Aninha"},
        step(properties=[{"from": "nickname", "to": "first_name"}]),
    )
    assert p.attributes["first_name"] == "Aninha"


def test_unknown_target_is_sent_as_is_with_a_warning() -> None:
    p = payload(
        {"email": "ana@example.com", "instagram": "@ana"},
        step(properties=[{"from": "instagram", "to": "instagram_handle"}]),
    )
    assert p.attributes["instagram_handle"] == "@ana"
    assert p.warnings == [
        "instagram → instagram_handle: Braze has no custom attribute 'instagram_handle' yet; "
        "Braze will create it with an auto-detected type"
    ]


def test_object_and_blocklisted_targets_are_left_out_at_send_time() -> None:
    p = payload(
        {"email": "ana@example.com", "pet_list": ["Rex"], "score": 9},
        step(
            properties=[{"from": "pet_list", "to": "pets"}, {"from": "score", "to": "legacy_score"}]
        ),
    )
    assert "pets" not in p.attributes and "legacy_score" not in p.attributes
    assert p.warnings == [
        "pet_list → pets: Braze attribute 'pets' is an Array of objects; Sync Another Property "
        "cannot write Object or Array of objects attributes (refused at save/publish); left out",
        "score → legacy_score: Braze attribute 'legacy_score' is blocklisted; left out",
    ]


def test_a_value_that_cannot_be_coerced_is_left_out_with_a_warning() -> None:
    p = payload(
        {"email": "ana@example.com", "shoes": "forty-two", "birthday": "someday"},
        step(properties=[{"from": "shoes", "to": "shoe_size"}, {"from": "birthday", "to": "dob"}]),
    )
    assert "shoe_size" not in p.attributes and "dob" not in p.attributes
    assert [w.split(":")[0] for w in p.warnings] == ["shoes → shoe_size", "birthday → dob"]
    assert not any("forty" in w or "someday" in w for w in p.warnings)


def test_an_absent_source_property_sends_nothing_and_warns_nothing() -> None:
    p = payload(
        {"email": "ana@example.com"}, step(properties=[{"from": "instagram", "to": "unknown_x"}])
    )
    assert p.attributes == {"email": "ana@example.com", "subscription_groups": [EMAIL_SUBSCRIBED]}
    assert p.warnings == []


# --- send_event ---


def test_send_event_adds_an_event_for_the_same_user() -> None:
    p = payload(NOAH, step(send_event="justuno_form_submitted"))
    assert p.event == {
        "email": "noah.rossi1@example.com",
        "name": "justuno_form_submitted",
        "time": "2026-11-15T11:19:00Z",
        "properties": {
            "design_id": "quiz-popup",
            "page_url": "https://shop.example/sale",
            "event_id": "ev-1",
        },
    }
    assert track_body([p, p]) == {
        "attributes": [p.attributes, p.attributes],
        "events": [p.event, p.event],
    }


def test_send_event_with_alias_identity_and_a_future_time() -> None:
    p = payload(
        {"first_name": "Yara"},
        step(identify_by="alias", send_event="lead"),
        occurred_at="2026-11-29T18:00:00Z",  # later than NOW: Braze would use its own clock
        design_id=None,
    )
    assert p.event == {
        "user_alias": {"alias_name": "jv_957731af10", "alias_label": "justuno_visitor_id"},
        "name": "lead",
        "time": "2026-11-29T12:00:00Z",
        "properties": {"page_url": "https://shop.example/sale", "event_id": "ev-1"},
    }


def test_track_body_of_nothing() -> None:
    assert track_body([]) == {"attributes": []}


def test_profile_merged_from_several_events_uses_the_latest_values() -> None:
    first = event_for({"email": "old@example.com", "first_name": "Ana"})
    second = event_for(
        {"email": "new@example.com"}, event_id="ev-2", occurred_at="2026-11-16T09:00:00Z"
    )
    profile = merge(merge(None, first), second)
    p = build(profile, second, step(), SCHEMA, now=NOW)
    assert isinstance(p, Payload)
    assert p.attributes["email"] == "new@example.com"
    assert p.attributes["first_name"] == "Ana"


def test_a_profile_built_directly_works_too() -> None:
    event = event_for({})
    profile = Profile(
        visitor_id="jv_957731af10",
        first_seen=NOW,
        last_seen=NOW,
        properties={"email": "ana@example.com"},
    )
    p = build(profile, event, step(), None, now=NOW)
    assert isinstance(p, Payload) and p.user_key == "email:ana@example.com"


def test_implicit_consent_covers_only_contacts_this_event_collected() -> None:
    """A later email-only form (no consent fields) must not re-subscribe an earlier phone."""
    first = event_for({"email": "noah@example.com", "sms": "+55 21 98765 4301"})
    later = event_for(
        {"email": "noah@example.com", "first_name": "Noah"},
        event_id="ev-2",
        occurred_at="2026-11-16T11:19:00Z",
        design_id="footer-signup",
    )
    profile = merge(merge(None, first), later)
    out = build(profile, later, step(), SCHEMA, now=NOW)
    assert isinstance(out, Payload)
    assert out.attributes["phone"] == "+5521987654301"  # still synced as an attribute
    assert out.attributes["subscription_groups"] == [EMAIL_SUBSCRIBED]
    sms = [d for d in out.consent if d.channel == "sms"]
    assert [(d.state, d.basis, d.reason) for d in sms] == [
        ("not_subscribed", "implicit", "not_collected")
    ]


def test_explicit_sms_consent_may_use_the_profiles_phone() -> None:
    first = event_for({"email": "noah@example.com", "sms": "+55 21 98765 4301"})
    later = event_for(
        {"email": "noah@example.com"},
        event_id="ev-2",
        occurred_at="2026-11-16T11:19:00Z",
        consent={"sms": True},
    )
    out = build(merge(merge(None, first), later), later, step(), SCHEMA, now=NOW)
    assert isinstance(out, Payload)
    assert SMS_SUBSCRIBED in out.attributes["subscription_groups"]
