"""Build the country and language name tables from babel, pycountry and langcodes, and
write them to ``name_tables.json`` (the data the normalisers ship with).

Building them takes about a second and ~130 MB (babel loads the CLDR data of every
language for the autonyms), which every process would pay on its first name lookup; so
they are built here, at development time, and shipped as data. Re-run after upgrading
babel, pycountry or langcodes, or after editing ``COUNTRY_EXTRAS`` / ``MAJOR_LOCALES``:

    python -m justuno_braze.normalize.generate_tables

``tests/unit/test_normalize_tables.py`` fails while the shipped tables differ from what
``build()`` returns, so they cannot go stale silently. (JSON rather than a Python module:
orjson reads it in ~2 ms, where a 5,000-entry module costs ~75 ms to compile whenever no
bytecode cache is written.)

What the tables hold (``words.NameTables``; lookups compare ``fold``-ed text, see ``words``):

- ``country_names``: folded name → alpha-2: ``COUNTRY_EXTRAS`` (common spellings), then
  pycountry's names (name, official, common), CLDR's English names, the native names in
  each territory's official (or ≥ 25 % spoken) languages, then the names in
  ``MAJOR_LOCALES``; the first to claim a folded name wins.
- ``country_codes``: alpha-2 and alpha-3 code (upper case) → alpha-2 (ISO-3166-1).
- ``language_names``: folded name → ISO-639-1: pycountry's English names, CLDR's English
  names, the autonyms, then the names in ``MAJOR_LOCALES``; only codes with an ISO-639-1
  code.
- ``iso639_1``: the ISO-639-1 codes.
- ``language_codes``: a bare 2- or 3-letter language subtag (lower case) → the ISO-639-1
  code langcodes reads it as (``iw`` → ``he``, ``deu`` → ``de``, ``in`` → ``id``); codes
  that do not come to an ISO-639-1 code are absent.
"""

from __future__ import annotations

import itertools
import string
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import langcodes
import orjson
import pycountry
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from justuno_braze.normalize.words import TABLES_FILE, NameTables, fold

OUTPUT = Path(__file__).with_name(TABLES_FILE)

# Names in these locales are known for every country and language, after the English
# and native names (which win a clash).
MAJOR_LOCALES = ("es", "pt", "fr", "de", "it", "nl", "ja", "zh", "ru", "pl", "sv", "tr", "ko")

COUNTRY_EXTRAS: dict[str, str] = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northernireland": "GB",
    "greatbritain": "GB",
    "britain": "GB",
    "unitedkingdomofgreatbritain": "GB",
    "america": "US",
    "unitedstatesofamerica": "US",
    "us": "US",
    "usa": "US",
    "eua": "US",
    "eeuu": "US",
    "estadosunidosdeamerica": "US",
    "etatsunisdamerique": "US",
    "holland": "NL",
    "thenetherlands": "NL",
    "southkorea": "KR",
    "korea": "KR",
    "northkorea": "KP",
    "russia": "RU",
    "czechia": "CZ",
    "czechrepublic": "CZ",
    "turkey": "TR",
    "turkiye": "TR",
    "ivorycoast": "CI",
    "burma": "MM",
    "macedonia": "MK",
    "swaziland": "SZ",
    "vatican": "VA",
    "uae": "AE",
    "emirates": "AE",
    "taiwan": "TW",
    "vietnam": "VN",
    "laos": "LA",
    "syria": "SY",
    "iran": "IR",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "palestine": "PS",
    "capeverde": "CV",
    "bosnia": "BA",
    "drc": "CD",
    "congokinshasa": "CD",
    "congobrazzaville": "CG",
    "brasil": "BR",
    "mexiko": "MX",
}


def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


def _adder(table: dict[str, str], keep: Callable[[str], str | None]) -> Callable[[str, str], None]:
    def add(name: str, code: str) -> None:
        kept = keep(code)
        if kept is not None:
            table.setdefault(fold(name), kept)

    return add


def _iso639_1() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def _language_names(valid: frozenset[str]) -> dict[str, str]:
    table: dict[str, str] = {}

    def primary(code: str) -> str | None:
        first = code.split("_")[0]
        return first if first in valid else None

    add = _adder(table, primary)
    for lang in pycountry.languages:
        if hasattr(lang, "alpha_2"):
            add(lang.name, lang.alpha_2)
    for code, label in Locale("en").languages.items():
        add(label, code)
    for code in sorted(valid):  # autonyms: Português, Deutsch, 日本語…
        loc = _locale(code)
        if loc is not None:
            for key, label in loc.languages.items():
                if key.split("_")[0] == code:
                    add(label, key)
    for major in MAJOR_LOCALES:
        for code, label in Locale(major).languages.items():
            add(label, code)
    table.pop("", None)
    return table


def _country_names(iso: frozenset[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    add = _adder(table, lambda code: code if code in iso else None)
    for key, code in COUNTRY_EXTRAS.items():
        add(key, code)
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if hasattr(c, attr):
                add(getattr(c, attr), c.alpha_2)
    for code, label in Locale("en").territories.items():
        add(label, code)
    for territory, languages in get_global("territory_languages").items():
        for lang, info in languages.items():  # native names: Brasil, Schweiz, 日本…
            if info.get("official_status") or info.get("population_percent", 0) >= 25:
                loc = _locale(lang)
                if loc is not None and territory in loc.territories:
                    add(loc.territories[territory], territory)
    for major in MAJOR_LOCALES:
        for code, label in Locale(major).territories.items():
            add(label, code)
    table.pop("", None)
    return table


def _language_codes(valid: frozenset[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    letters = string.ascii_lowercase
    for n in (2, 3):
        for chars in itertools.product(letters, repeat=n):
            code = "".join(chars)
            try:
                primary = langcodes.Language.get(code).language
            except (ValueError, LookupError):
                continue
            if primary in valid:
                table[code] = primary
    return table


def build() -> NameTables:
    """The tables as babel, pycountry and langcodes give them now."""
    iso = frozenset(c.alpha_2 for c in pycountry.countries)
    codes = {c.alpha_2: c.alpha_2 for c in pycountry.countries}
    codes.update({c.alpha_3: c.alpha_2 for c in pycountry.countries})
    valid = _iso639_1()
    return NameTables(
        country_names=_country_names(iso),
        country_codes=codes,
        language_names=_language_names(valid),
        iso639_1=valid,
        language_codes=_language_codes(valid),
    )


def source(tables: NameTables) -> bytes:
    """The content of ``name_tables.json`` for ``tables`` (sorted, indented: diffable)."""
    versions = ", ".join(f"{name} {version(name)}" for name in ("babel", "pycountry", "langcodes"))
    doc = {
        "generated_by": f"python -m justuno_braze.normalize.generate_tables from {versions}",
        "iso639_1": sorted(tables.iso639_1),
        "country_codes": tables.country_codes,
        "country_names": tables.country_names,
        "language_names": tables.language_names,
        "language_codes": tables.language_codes,
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> int:
    OUTPUT.write_bytes(source(build()))
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
