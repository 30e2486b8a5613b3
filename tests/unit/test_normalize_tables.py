"""The shipped name tables (``normalize/name_tables.json``) are what babel, pycountry and
langcodes give now, and the language-tag shortcut reads tags as langcodes does."""

from __future__ import annotations

import itertools
import string

import langcodes
import orjson
import pytest

from justuno_braze import normalize
from justuno_braze.normalize import generate_tables, words


@pytest.fixture(scope="module")
def built() -> words.NameTables:
    return generate_tables.build()


def test_shipped_tables_equal_what_the_libraries_give_now(built: words.NameTables) -> None:
    shipped = words.tables()
    assert shipped.country_names == built.country_names
    assert shipped.country_codes == built.country_codes
    assert shipped.language_names == built.language_names
    assert shipped.iso639_1 == built.iso639_1
    assert shipped.language_codes == built.language_codes, (
        "stale: run python -m justuno_braze.normalize.generate_tables"
    )


def test_shipped_file_is_byte_for_byte_what_the_generator_writes(
    built: words.NameTables,
) -> None:
    shipped = generate_tables.OUTPUT.read_bytes()
    assert (
        orjson.loads(shipped)["generated_by"]
        == orjson.loads(generate_tables.source(built))["generated_by"]
    ), "written from other library versions: run python -m justuno_braze.normalize.generate_tables"
    assert shipped == generate_tables.source(built)


def test_tables_hold_the_names_leads_use() -> None:
    t = words.tables()
    assert t.country_names["brasil"] == "BR"
    assert t.country_names["deutschland"] == "DE"
    assert t.country_codes["BRA"] == "BR"
    assert t.language_names["portugues"] == "pt"
    assert t.language_codes["deu"] == "de"
    assert t.language_codes["iw"] == "he"
    assert "tl" not in t.language_codes  # langcodes reads it as fil: no ISO-639-1 code


def _langcodes_reading(tag: str) -> str | None:
    try:
        primary = langcodes.Language.get(tag.replace("_", "-")).language
    except (ValueError, LookupError):
        return None
    return primary if primary in words.tables().iso639_1 else None


def _tags() -> list[str]:
    two = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=2)]
    three = sorted(k for k in words.tables().language_codes if len(k) == 3)
    three += ["sgn", "zho", "cmn", "yue", "nan", "und", "qaa", "xxx"]
    suffixes = ["", "-US", "_br", "-419", "-Latn", "-Hant-TW", "-Cyrl_RS", "-ME"]
    tags = [code + suffix for code in two + three for suffix in suffixes]
    return tags + [t.upper() for t in tags[::7]]


def test_language_tag_shortcut_agrees_with_langcodes() -> None:
    differ = [
        (tag, got, want)
        for tag in _tags()
        if (got := words._tag_language(tag)) != (want := _langcodes_reading(tag))
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("en-GB-oed", "en"), ("no-bok", "nb"), ("zh-min-nan", None), ("pt-BR-x-private", "pt")],
)
def test_other_tag_shapes_go_through_langcodes(tag: str, expected: str | None) -> None:
    assert words._tag_language(tag) == expected
    assert words._tag_language(tag) == _langcodes_reading(tag)


def test_language_and_country_lookups_use_the_shipped_tables() -> None:
    assert normalize.language("Português (Brasil)") == "pt"
    assert normalize.language("deu") == "de"
    assert normalize.country("The Netherlands") == "NL"
    assert normalize.country("bra") == "BR"
