"""Property-based: whatever a profile holds, the payload obeys Braze's object rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.payload import Payload, Skip, build, track_body
from justuno_braze.braze.step import SyncToApp
from justuno_braze.events import Event, Profile

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PRIMARY = ("external_id", "user_alias", "braze_id")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        "email",
        "sms",
        "phone",
        "first_name",
        "last_name",
        "language",
        "gender",
        "country",
        "birthday",
        "interests",
        "shoes",
        "vip",
        "customer_id",
        "pet_list",
        "anything",
    ]
)
TEXTY = st.one_of(
    JSON,
    st.sampled_from(
        [
            "ana@example.com",
            " Noah.Rossi1@Example.com",
            "+55 21 98765 4312",
            "(415) 555-0132",
            "Brasil",
            "Português",
            "Female",
            "1978-03-24",
            "x" * 300,
        ]
    ),
)
SCHEMA = AttributeSchema.from_api(
    [
        {"name": "interests", "data_type": "Array", "array_length": 3},
        {"name": "shoe_size", "data_type": "Number"},
        {"name": "vip", "data_type": "Boolean"},
        {"name": "pets", "data_type": "Object Array"},
    ]
)
STEPS = st.builds(
    lambda identify_by, consent_email, region, send: SyncToApp.from_dict(
        {
            "app": "braze",
            "identify_by": identify_by,
            "sms_subscription_group_id": "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a",
            **(
                {"email_subscription_group_id": "4e1d2c3b-5a6f-4789-8abc-def012345678"}
                if consent_email
                else {}
            ),
            **({"default_region": region} if region else {}),
            **({"send_event": "lead"} if send else {}),
            "properties": [
                {"from": "birthday", "to": "dob"},
                {"from": "interests", "to": "interests"},
                {"from": "shoes", "to": "shoe_size"},
                {"from": "vip", "to": "vip"},
                {"from": "pet_list", "to": "pets"},
                {"from": "anything", "to": "brand_new"},
            ],
        }
    ),
    st.sampled_from(["email", "alias", "external_id:customer_id"]),
    st.booleans(),
    st.sampled_from([None, "US", "BR"]),
    st.booleans(),
)


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *[x for v in value.values() for x in _walk(v)]]
    if isinstance(value, list):
        return [value, *[x for v in value for x in _walk(v)]]
    return [value]


@settings(max_examples=300, deadline=None)
@given(
    properties=st.dictionaries(KEYS, TEXTY, max_size=10),
    consent=st.dictionaries(st.sampled_from(["sms", "email"]), st.booleans()),
    step=STEPS,
)
def test_any_profile_gives_a_skip_or_a_valid_attributes_object(
    properties: dict[str, Any], consent: dict[str, bool], step: SyncToApp
) -> None:
    event = Event(
        event_id="ev-1",
        type="form_submitted",
        visitor_id="jv_1",
        occurred_at=NOW,
        properties=properties,
        consent=consent,
    )
    profile = Profile(visitor_id="jv_1", first_seen=NOW, last_seen=NOW, properties=properties)
    out = build(profile, event, step, SCHEMA, now=NOW)
    if isinstance(out, Skip):
        assert out.reason == "no_identifier" and out.detail
        return
    assert isinstance(out, Payload)
    attrs = out.attributes
    primaries = [k for k in PRIMARY if k in attrs]
    kind, _, ident = out.user_key.partition(":")
    if kind in ("email", "phone"):
        assert primaries == [] and attrs[kind] == ident
        if kind == "phone":
            assert "email" not in attrs
    else:
        assert len(primaries) == 1
    if "external_id" in attrs:  # Braze's own limit for identifiers: 987 bytes
        assert len(attrs["external_id"].encode()) <= 987
    for value in _walk({k: v for k, v in attrs.items() if k != "external_id"}):
        assert value is not None
        if isinstance(value, str):
            assert len(value) <= 255
    assert "pets" not in attrs
    for group in attrs.get("subscription_groups", []):
        assert group["subscription_state"] == "subscribed"
    if "gender" in attrs:
        assert attrs["gender"] in ("M", "F", "O", "N", "P")
    if "interests" in attrs:
        assert 1 <= len(attrs["interests"]) <= 3
    body = track_body([out])
    assert body["attributes"] == [attrs]
    assert ("events" in body) == (step.send_event is not None)
