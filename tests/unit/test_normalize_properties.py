"""Property tests: normalisers only ever raise Unnormalizable, and are idempotent."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from justuno_braze import normalize
from justuno_braze.normalize import Unnormalizable

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)
WORDISH = st.text() | st.sampled_from(
    ["pt-BR", "Português", "Brasil", "femme", "1978-03-24", "03/24/1978", "UK", "x@y.com"]
)
ONE_ARG: list[Callable[[object], str]] = [
    normalize.email,
    normalize.name,
    normalize.language,
    normalize.gender,
    normalize.country,
    normalize.dob,
]


@pytest.mark.parametrize("fn", ONE_ARG, ids=lambda f: f.__name__)
@settings(deadline=None, max_examples=200)
@given(value=JSONISH | WORDISH)
def test_normaliser_raises_only_unnormalizable_and_is_idempotent(
    fn: Callable[[object], str], value: object
) -> None:
    try:
        out = fn(value)
    except Unnormalizable:
        return
    assert isinstance(out, str) and out
    assert fn(out) == out


@settings(deadline=None, max_examples=300)
@given(
    value=JSONISH | st.from_regex(r"\+?[0-9 ()\-]{1,20}", fullmatch=True),
    hint=st.none() | st.sampled_from(["US", "BR", "GB", "DE", "FR", "MX", "JP", "ZZ", "us", ""]),
)
def test_phone_raises_only_unnormalizable_and_outputs_reparse_as_valid(
    value: object, hint: str | None
) -> None:
    try:
        out = normalize.phone(value, hint)
    except Unnormalizable:
        return
    assert out.startswith("+")
    assert phonenumbers.is_valid_number(phonenumbers.parse(out, None))
    assert normalize.phone(out, None) == out
    assert normalize.phone(out, "JP") == out


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(deadline=None, max_examples=200)
@given(region=st.sampled_from(REGIONS))
def test_every_regions_national_example_number_becomes_its_e164(region: str) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalize.phone(national, region) == expected
    assert phonenumbers.is_valid_number(phonenumbers.parse(expected, None))


@settings(deadline=None, max_examples=100)
@given(
    code=st.sampled_from(["M", "F", "O", "N", "P"]),
    case=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_gender_codes_are_case_insensitive(code: str, case: Callable[[str], str]) -> None:
    assert normalize.gender(f"  {case(code)} ") == code


def _reference_email(value: str) -> str | None:
    try:
        return validate_email(value.strip().lower(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(deadline=None, max_examples=300)
@given(
    value=st.emails()
    | st.from_regex(r"[a-zA-Z0-9._%+\-!#é]{0,70}@[a-zA-Z0-9.\-ü_]{0,70}", fullmatch=True)
    | st.builds(lambda local: local + "@example.com", st.text(max_size=80))
    | st.text()
)
def test_email_agrees_with_email_validator(value: str) -> None:
    """The cached fast path for plain addresses accepts exactly what email-validator does."""
    expected = _reference_email(value)
    try:
        assert normalize.email(value) == expected
    except Unnormalizable:
        assert expected is None
