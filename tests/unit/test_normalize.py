"""The default-attribute normalisers: concrete values from PRODUCT.md and the sample data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from justuno_braze import normalize
from justuno_braze.events import parse_event
from justuno_braze.normalize import Unnormalizable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" LUCÍA.Schmidt5@Example.com ", "lucía.schmidt5@example.com"),
        ("Chloé.Rossi0@example.com", "chloé.rossi0@example.com"),
        ("noah3@example.org", "noah3@example.org"),
        ("USER@EXAMPLE.COM", "user@example.com"),
    ],
)
def test_email_is_trimmed_lowercased_and_keeps_a_valid_unicode_local_part(
    raw: str, expected: str
) -> None:
    assert normalize.email(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "not-an-email", "a@b", "a..b@example.com", "@x.com"])
def test_invalid_email_is_unnormalizable(raw: str) -> None:
    with pytest.raises(Unnormalizable, match="email"):
        normalize.email(raw)


@pytest.mark.parametrize(
    ("raw", "hint", "expected"),
    [
        ("21 98765-4301", "BR", "+5521987654301"),
        ("(21) 98765-4309", "BR", "+5521987654309"),
        ("+55 21 98765 4312", None, "+5521987654312"),
        ("+55 21 98765 4312", "US", "+5521987654312"),
        ("(303) 555-0124", "US", "+13035550124"),
        ("+1 303 555 0105", None, "+13035550105"),
        ("622 11 22 13", "ES", "+34622112213"),
        ("0170 1234521", "DE", "+491701234521"),
        ("0170 1234521", "de", "+491701234521"),
        ("+49 170 1234526", "BR", "+491701234526"),
        ("55 1234 5623", "MX", "+525512345623"),
        (5521987654301, "BR", "+5521987654301"),
    ],
)
def test_phone_is_e164_using_the_region_hint(raw: object, hint: str | None, expected: str) -> None:
    assert normalize.phone(raw, hint) == expected


def test_phone_without_country_code_needs_a_hint() -> None:
    with pytest.raises(Unnormalizable, match="no country"):
        normalize.phone("21 98765-4301", None)


@pytest.mark.parametrize(
    ("raw", "hint"),
    [("+1 000", None), ("07700 900104", "GB"), ("n/a", "US"), ("", "US"), ("12", "BR")],
)
def test_invalid_phone_is_unnormalizable(raw: str, hint: str | None) -> None:
    with pytest.raises(Unnormalizable, match="phone"):
        normalize.phone(raw, hint)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Yara ", "Yara"), ("noah", "noah"), ("  Mary \t  Ann\n", "Mary Ann"), ("Lucía", "Lucía")],
)
def test_name_is_trimmed_and_collapsed_but_case_is_kept(raw: str, expected: str) -> None:
    assert normalize.name(raw) == expected


def test_name_longer_than_255_characters_is_refused_not_cut() -> None:
    assert normalize.name("é" * 255) == "é" * 255
    with pytest.raises(Unnormalizable, match="255"):
        normalize.name("é" * 256)
    with pytest.raises(Unnormalizable):
        normalize.name("   ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pt-BR", "pt"),
        ("es-ES", "es"),
        ("en_US", "en"),
        ("EN", "en"),
        ("zh-Hant-TW", "zh"),
        ("iw", "he"),
        ("deu", "de"),
        ("Portuguese", "pt"),
        ("portuguese", "pt"),
        ("Português", "pt"),
        ("Português (Brasil)", "pt"),
        ("Français", "fr"),
        ("Deutsch", "de"),
        ("Español", "es"),
        ("Italiano", "it"),
        ("日本語", "ja"),
        ("English", "en"),
        ("Inglés", "en"),
        ("Brazilian Portuguese", "pt"),
    ],
)
def test_language_from_code_tag_or_name(raw: str, expected: str) -> None:
    assert normalize.language(raw) == expected


@pytest.mark.parametrize("raw", ["haw", "Hawaiian", "Klingonese", "xx", "", "und"])
def test_language_without_iso_639_1_code_is_unnormalizable(raw: str) -> None:
    with pytest.raises(Unnormalizable, match="language"):
        normalize.language(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("male", "M"),
        ("M", "M"),
        ("Masculino", "M"),
        ("homem", "M"),
        ("hombre", "M"),
        ("homme", "M"),
        ("männlich", "M"),
        ("MANNLICH", "M"),
        ("Mann", "M"),
        ("Female", "F"),
        ("woman", "F"),
        ("feminino", "F"),
        ("mulher", "F"),
        ("mujer", "F"),
        ("femme", "F"),
        ("weiblich", "F"),
        ("Frau", "F"),
        ("Other", "O"),
        ("outro", "O"),
        ("otro", "O"),
        ("autre", "O"),
        ("divers", "O"),
        ("non-binary", "O"),
        ("Non binary", "O"),
        ("not applicable", "N"),
        ("N/A", "N"),
        ("prefer not to say", "P"),
        ("Prefiro não dizer", "P"),
        ("prefiero no decirlo", "P"),
        ("Je préfère ne pas le dire", "P"),
        ("keine Angabe", "P"),
    ],
)
def test_gender_codes_and_words_in_five_languages(raw: str, expected: str) -> None:
    assert normalize.gender(raw) == expected


@pytest.mark.parametrize("raw", ["alien", "unknown", "", "mf"])
def test_unknown_gender_word_is_unnormalizable(raw: str) -> None:
    with pytest.raises(Unnormalizable, match="gender"):
        normalize.gender(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BR", "BR"),
        ("br", "BR"),
        ("BRA", "BR"),
        ("usa", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("GB", "GB"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("United Kingdom", "GB"),
        ("Brazil", "BR"),
        ("Brasil", "BR"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("España", "ES"),
        ("Spain", "ES"),
        ("Italia", "IT"),
        ("México", "MX"),
        ("Mexico", "MX"),
        ("Nederland", "NL"),
        ("The Netherlands", "NL"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Österreich", "AT"),
        ("日本", "JP"),
        ("Japan", "JP"),
        ("Estados Unidos", "US"),
        ("Korea, Republic of", "KR"),
        ("  france ", "FR"),
    ],
)
def test_country_from_codes_english_and_native_names(raw: str, expected: str) -> None:
    assert normalize.country(raw) == expected


@pytest.mark.parametrize("raw", ["Narnia", "XX", "ZZZ", "", "Europe", "EU", "World"])
def test_unknown_country_is_unnormalizable(raw: str) -> None:
    with pytest.raises(Unnormalizable, match="country"):
        normalize.country(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1978-03-24", "1978-03-24"),
        ("1978/03/24", "1978-03-24"),
        ("1978.3.4", "1978-03-04"),
        ("03/24/1978", "1978-03-24"),
        ("3/4/1978", "1978-03-04"),
        ("24/03/1978", "1978-03-24"),
        ("19780324", "1978-03-24"),
        ("1978-03-24T23:30:00-05:00", "1978-03-24"),
        ("1978-03-24 10:00", "1978-03-24"),
        (date(1978, 3, 24), "1978-03-24"),
    ],
)
def test_dob_formats(raw: object, expected: str) -> None:
    assert normalize.dob(raw) == expected


@pytest.mark.parametrize(
    "raw", ["02/30/1990", "1990-13-01", "1899-12-31", "hello", "", "24/13/1990", "1978-03-24Tx"]
)
def test_impossible_or_unreadable_dob_is_unnormalizable(raw: str) -> None:
    with pytest.raises(Unnormalizable, match="date of birth"):
        normalize.dob(raw)


def test_dob_in_the_future_is_refused_only_when_today_is_given() -> None:
    assert normalize.dob("2030-01-01") == "2030-01-01"
    with pytest.raises(Unnormalizable, match="future"):
        normalize.dob("2030-01-01", today=date(2026, 11, 29))
    assert normalize.dob("2026-11-29", today=date(2026, 11, 29)) == "2026-11-29"


@pytest.mark.parametrize(
    "fn", [normalize.email, normalize.name, normalize.language, normalize.gender, normalize.country]
)
@pytest.mark.parametrize("raw", [None, 12, ["pt"], {"a": 1}, True])
def test_non_text_values_are_unnormalizable(fn: object, raw: object) -> None:
    assert callable(fn)
    with pytest.raises(Unnormalizable, match="must be text"):
        fn(raw)


def test_unnormalizable_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError) as info:
        normalize.gender("alien")
    assert isinstance(info.value, Unnormalizable)
    assert info.value.reason == "gender is not a known code or word"


def test_every_word_value_in_the_sample_events_normalises() -> None:
    sample = Path(__file__).parents[1] / "data" / "justuno-events-sample.jsonl"
    seen: dict[str, set[str]] = {}
    bad_emails = []
    for line in sample.read_text(encoding="utf-8").splitlines():
        props = parse_event(json.loads(line)).properties
        for key, fn in [
            ("language", normalize.language),
            ("gender", normalize.gender),
            ("country", normalize.country),
            ("birthday", normalize.dob),
            ("first_name", normalize.name),
            ("last_name", normalize.name),
        ]:
            if key in props:
                seen.setdefault(key, set()).add(fn(props[key]))
        if "email" in props:
            try:
                normalize.email(props["email"])
            except Unnormalizable:
                bad_emails.append(props["email"])
    assert seen["language"] == {"de", "en", "es", "fr", "ja", "pt"}
    assert seen["gender"] == {"M", "F", "O", "P"}
    assert seen["country"] == {"BR", "DE", "ES", "FR", "GB", "JP", "MX", "US"}
    assert len(bad_emails) == 4 and all("@@" in e for e in bad_emails)
