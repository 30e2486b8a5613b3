"""Braze's custom-attribute schema: lenient parsing and value coercion per type."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from justuno_braze.braze.attributes import (
    AttributeSchema,
    AttributeType,
    CustomAttribute,
    coerce,
    parse_data_type,
)
from justuno_braze.errors import InputError
from justuno_braze.normalize import Unnormalizable

T = AttributeType


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("String", T.STRING),
        ("String (Automatically Detected)", T.STRING),
        ("Number (Automatically Detected)", T.NUMBER),
        ("number", T.NUMBER),
        ("Boolean", T.BOOLEAN),
        ("Date", T.TIME),
        ("Date (Automatically Detected)", T.TIME),
        ("Time", T.TIME),
        ("Array", T.ARRAY),
        ("Array (Automatically Detected)", T.ARRAY),
        ("Object", T.OBJECT),
        ("Object Array", T.OBJECT_ARRAY),
        ("object_array", T.OBJECT_ARRAY),
        ("Array of Objects", T.OBJECT_ARRAY),
        ("  OBJECT-ARRAY ", T.OBJECT_ARRAY),
        ("Hologram", T.UNKNOWN),
        ("", T.UNKNOWN),
        (None, T.UNKNOWN),
        (7, T.UNKNOWN),
    ],
)
def test_data_type_is_parsed_leniently(raw: object, expected: AttributeType) -> None:
    assert parse_data_type(raw) is expected


def test_schema_from_api_reads_types_status_and_array_length() -> None:
    schema = AttributeSchema.from_api(
        [
            {
                "name": "interests",
                "description": None,
                "data_type": "Array",
                "array_length": 10,
                "status": "Active",
                "tag_names": [],
            },
            {"name": "pets", "data_type": "Object Array", "array_length": None},
            {"name": "old_score", "data_type": "Number", "status": "Blocklisted"},
            {"name": "Loyalty Tier", "data_type": "String (Automatically Detected)"},
        ]
    )
    assert len(schema) == 4
    interests = schema.get("interests")
    assert interests == CustomAttribute("interests", T.ARRAY, "Array", "Active", 10)
    assert not interests.blocklisted
    pets = schema.get("pets")
    assert pets is not None and pets.type is T.OBJECT_ARRAY and pets.status is None
    old = schema.get("old_score")
    assert old is not None and old.blocklisted
    assert schema.get("loyalty tier") is None  # Braze names are case-sensitive
    assert schema.get("Loyalty Tier") is not None


def test_schema_accepts_the_whole_response_body() -> None:
    schema = AttributeSchema.from_api(
        {"message": "success", "attributes": [{"name": "zip", "data_type": "String"}]}
    )
    assert [a.name for a in schema] == ["zip"]


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ("nope", "custom_attributes"),
        ([{"name": "ok"}, 3], "custom_attributes[1]"),
        ([{"data_type": "String"}], "custom_attributes[0].name"),
    ],
)
def test_schema_refuses_broken_lists_naming_the_item(items: object, field: str) -> None:
    with pytest.raises(InputError) as err:
        AttributeSchema.from_api(items)
    assert err.value.field == field


def attr(kind: AttributeType, array_length: int | None = None) -> CustomAttribute:
    return CustomAttribute("x", kind, array_length=array_length)


# --- coercion table ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (2.5, 2.5),
        ("42", 42),
        (" -7 ", -7),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        (".5", 0.5),
    ],
)
def test_number(value: object, expected: object) -> None:
    out = coerce(value, attr(T.NUMBER))
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    "value", [True, False, "abc", "1,5", "1_000", "nan", "inf", float("nan"), [1], {"a": 1}, ""]
)
def test_number_refuses(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, attr(T.NUMBER))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("t", True),
        ("1", True),
        ("Yes", True),
        ("false", False),
        ("F", False),
        ("0", False),
        ("no", False),
        (1, True),
        (0, False),
    ],
)
def test_boolean_follows_brazes_forced_type_rules(value: object, expected: bool) -> None:
    assert coerce(value, attr(T.BOOLEAN)) is expected


@pytest.mark.parametrize("value", ["maybe", 2, [True], ""])
def test_boolean_refuses(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, attr(T.BOOLEAN))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1978-03-24", "1978-03-24"),
        ("2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z"),
        ("2026-11-29T10:00:00", "2026-11-29T10:00:00Z"),  # no zone: UTC, as Braze reads it
        ("2026-11-29T12:30:00+02:00", "2026-11-29T10:30:00Z"),
        ("2026-11-29T10:00:00.123456Z", "2026-11-29T10:00:00.123Z"),
        ("2026-11-29 10:00:00", "2026-11-29T10:00:00Z"),
        ("03/24/1978", "1978-03-24"),
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            "2026-01-02T08:04:05Z",
        ),
    ],
)
def test_time(value: object, expected: str) -> None:
    assert coerce(value, attr(T.TIME)) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-02-30", "13/45/2020", 1700000000, "3001-01-01"]
)
def test_time_refuses(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, attr(T.TIME))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  dry ", "dry"),
        (12, "12"),
        (2.5, "2.5"),
        (True, "true"),
        (["a", "b"], "a, b"),
        ("x" * 255, "x" * 255),
    ],
)
def test_string(value: object, expected: str) -> None:
    assert coerce(value, attr(T.STRING)) == expected


def test_string_over_255_characters_is_refused_not_truncated() -> None:
    with pytest.raises(Unnormalizable) as err:
        coerce("word " * 60, attr(T.STRING))
    assert "255" in err.value.reason
    assert "word" not in err.value.reason  # the reason never quotes the value


@pytest.mark.parametrize("value", ["", "   ", {"a": 1}, [{"a": 1}]])
def test_string_refuses(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, attr(T.STRING))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["cooking", "sneakers", "gaming"], ["cooking", "sneakers", "gaming"]),
        (["hotdog", "hotdog", "pizza", "hotdog"], ["hotdog", "pizza"]),  # unique, order kept
        ("yoga", ["yoga"]),  # a scalar is a one-item array
        ("yoga, travel ,,", ["yoga", "travel"]),  # lead exports flatten checkboxes
        ([" a ", "", 3, True], ["a", "3", "true"]),
        (7, ["7"]),
    ],
)
def test_array_of_strings(value: object, expected: list[str]) -> None:
    assert coerce(value, attr(T.ARRAY)) == expected


def test_array_respects_array_length() -> None:
    assert coerce(["a", "b"], attr(T.ARRAY, array_length=2)) == ["a", "b"]
    with pytest.raises(Unnormalizable) as err:
        coerce(["a", "b", "c"], attr(T.ARRAY, array_length=2))
    assert "at most 2" in err.value.reason


@pytest.mark.parametrize("value", [[], [""], [["nested"]], [{"a": 1}], {"a": 1}, ["x" * 256]])
def test_array_refuses(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, attr(T.ARRAY))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Gold", "Gold"), (3, 3), (1.5, 1.5), (False, False), (["a", "a", "b"], ["a", "b"])],
)
def test_unknown_attribute_is_sent_as_is(value: object, expected: object) -> None:
    assert coerce(value, None) == expected
    assert coerce(value, attr(T.UNKNOWN)) == expected


@pytest.mark.parametrize("value", [{"a": 1}, [{"a": 1}], None, ""])
def test_unknown_attribute_refuses_objects_and_blanks(value: object) -> None:
    with pytest.raises(Unnormalizable):
        coerce(value, None)


@pytest.mark.parametrize("kind", [T.OBJECT, T.OBJECT_ARRAY])
def test_object_targets_are_refused(kind: AttributeType) -> None:
    with pytest.raises(Unnormalizable) as err:
        coerce({"name": "Rex"}, attr(kind))
    assert "Object or Array of objects" in err.value.reason


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(value=JSON_VALUES, kind=st.sampled_from(list(AttributeType)))
def test_coerce_returns_a_braze_value_or_refuses(value: object, kind: AttributeType) -> None:
    try:
        out = coerce(value, attr(kind))
    except Unnormalizable:
        return
    assert kind not in (T.OBJECT, T.OBJECT_ARRAY)
    assert out is not None
    items = out if isinstance(out, list) else [out]
    for item in items:
        assert isinstance(item, str | int | float | bool)
        if isinstance(item, str):
            assert 0 < len(item) <= 255
        if isinstance(item, float):
            assert math.isfinite(item)
    if kind is T.ARRAY:
        assert isinstance(out, list) and len(set(out)) == len(out)
    if kind is T.NUMBER:
        assert isinstance(out, int | float) and not isinstance(out, bool)
    if kind is T.BOOLEAN:
        assert isinstance(out, bool)
    if kind is T.TIME:
        assert isinstance(out, str)
        parsed = datetime.fromisoformat(out.replace("Z", "+00:00"))
        assert parsed.tzinfo in (None, UTC)
