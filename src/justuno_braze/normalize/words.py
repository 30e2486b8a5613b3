"""Normalisers that map codes and words in many languages: language, country, gender.

Lookups compare *folded* text: Unicode-compatibility decomposed, accents dropped,
case-folded, and everything but letters and digits removed (``Português`` → ``portugues``,
``Prefiro não dizer`` → ``prefironaodizer``, ``U.S.A.`` → ``usa``).

- ``language``: a 2-letter code, a BCP-47 tag (``pt-BR`` → ``pt``; deprecated and 3-letter
  codes go through langcodes: ``iw`` → ``he``, ``deu`` → ``de``) or a language name in
  English, in the language itself or in a few major languages (babel's CLDR names:
  ``Portuguese``, ``Português``, ``日本語``, ``Inglés``…). A language without an ISO-639-1
  code is unnormalisable.
- ``country``: an alpha-2 or alpha-3 code (ISO-3166-1 via pycountry), an English name
  (pycountry's name, official and common names, CLDR's English names), the native names
  in the territory's official languages (``Brasil``, ``Deutschland``, ``Schweiz``,
  ``Suisse``, ``日本``), names in a few major languages, and a small table of common
  spellings (``USA``, ``UK``, ``Holland``…). Only ISO-3166-1 codes are returned.
- ``gender``: ``M``/``F``/``O``/``N``/``P`` from the codes and words in English,
  Portuguese, Spanish, French, German and Italian.

The name tables come from babel (CLDR), pycountry and langcodes, but are built at
development time by ``generate_tables`` and shipped as data (``name_tables.json``, read
on the first lookup in ~2 ms): building them takes every process about a second and
~130 MB. Language tags of the common shapes
(``pt``, ``pt-BR``, ``zh-Hant-TW``, ``deu``) are read from the shipped table of language
subtags; other tags (extensions, variants, grandfathered tags) go through langcodes,
imported on first use. Lookups are cached.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import orjson

from justuno_braze.normalize.contact import Unnormalizable

TABLES_FILE = "name_tables.json"

GENDER_WORDS: dict[str, tuple[str, ...]] = {
    "M": (
        "m",
        "male",
        "man",
        "men",
        "masculine",
        "boy",
        "masculino",
        "homem",
        "hombre",
        "varon",
        "homme",
        "masculin",
        "mannlich",
        "mann",
        "maschio",
        "uomo",
        "maschile",
    ),
    "F": (
        "f",
        "female",
        "woman",
        "women",
        "feminine",
        "girl",
        "feminino",
        "mulher",
        "mujer",
        "femenino",
        "femme",
        "feminin",
        "weiblich",
        "frau",
        "w",
        "femmina",
        "donna",
        "femminile",
    ),
    "O": (
        "o",
        "other",
        "outro",
        "outra",
        "otro",
        "otra",
        "autre",
        "divers",
        "diverse",
        "d",
        "altro",
        "nonbinary",
        "nb",
        "enby",
        "x",
        "genderqueer",
        "genderfluid",
        "agender",
        "naobinario",
        "naobinaria",
        "nobinario",
        "nonbinaire",
        "nichtbinar",
        "nonbinario",
    ),
    "N": (
        "n",
        "notapplicable",
        "na",
        "naoseaplica",
        "noaplica",
        "noaplicable",
        "nonapplicable",
        "nichtzutreffend",
        "entfallt",
        "nonapplicabile",
    ),
    "P": (
        "p",
        "prefernottosay",
        "prefernottoanswer",
        "prefernottodisclose",
        "ratherntsay",
        "rathernotsay",
        "declinetostate",
        "declinetoanswer",
        "prefironaodizer",
        "prefironaoinformar",
        "prefironaoresponder",
        "prefieronodecirlo",
        "prefieronodecir",
        "prefieronoresponder",
        "prefieronocontestar",
        "jepreferenepasledire",
        "jepreferenepasrepondre",
        "preferenepasdire",
        "preferenepasrepondre",
        "keineangabe",
        "keineangaben",
        "mochteichnichtangeben",
        "ichmochteesnichtsagen",
        "preferiscononrispondere",
        "preferiscononspecificarlo",
        "preferiscononspecificare",
        "preferiscononlodire",
    ),
}

_DROP = re.compile(r"[\W_]+")
_PAREN = re.compile(r"\s*[(\[].*?[)\]]\s*")
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
# language, optional script, optional region: langcodes reads the language from the first
# subtag alone (checked against langcodes by tests/unit/test_normalize_tables.py)
_SIMPLE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?")


def fold(text: str) -> str:
    """Accent-free, case-folded letters and digits only (the lookup key)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _DROP.sub("", bare.casefold())


def _word(v: object, what: str) -> str:
    if not isinstance(v, str):
        raise Unnormalizable(f"{what} must be text, not {type(v).__name__}")
    text = v.strip()
    if not text:
        raise Unnormalizable(f"{what} is empty")
    return text


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class NameTables:
    """The shipped name tables (see ``generate_tables`` for what each holds)."""

    country_names: dict[str, str]  # folded name → alpha-2
    country_codes: dict[str, str]  # alpha-2 / alpha-3 → alpha-2
    language_names: dict[str, str]  # folded name → ISO-639-1
    iso639_1: frozenset[str]
    language_codes: dict[str, str]  # bare language subtag → ISO-639-1


@cache
def tables() -> NameTables:
    """The name tables shipped with the package (read once per process)."""
    data = orjson.loads(resources.files(__package__).joinpath(TABLES_FILE).read_bytes())
    return NameTables(
        country_names=data["country_names"],
        country_codes=data["country_codes"],
        language_names=data["language_names"],
        iso639_1=frozenset(data["iso639_1"]),
        language_codes=data["language_codes"],
    )


# --------------------------------------------------------------------------- gender


@cache
def _gender_table() -> dict[str, str]:
    return {word: code for code, words in GENDER_WORDS.items() for word in words}


def gender(v: object) -> str:
    """``M``/``F``/``O``/``N``/``P`` from a code or a word (``Masculino``, ``femme``…)."""
    code = _gender(_word(v, "gender"))
    if code is None:
        raise Unnormalizable("gender is not a known code or word")
    return code


@lru_cache(maxsize=1024)
def _gender(text: str) -> str | None:
    return _gender_table().get(fold(text))


# --------------------------------------------------------------------------- language


def language(v: object) -> str:
    """ISO-639-1 from a code, a BCP-47 tag or a language name (``Português`` → ``pt``)."""
    code = _language(_word(v, "language"))
    if code is None:
        raise Unnormalizable("language is not a known language with an ISO-639-1 code")
    return code


@lru_cache(maxsize=4096)
def _language(text: str) -> str | None:
    if _TAG.fullmatch(text):
        primary = _tag_language(text)
        if primary is not None:
            return primary
    names = tables().language_names
    found = names.get(fold(text))
    if found is None and _PAREN.search(text):  # "Português (Brasil)"
        found = names.get(fold(_PAREN.sub(" ", text)))
    return found


def _tag_language(tag: str) -> str | None:
    """The ISO-639-1 code of a BCP-47 tag as langcodes reads it, else ``None``."""
    if simple := _SIMPLE_TAG.fullmatch(tag):  # language[-Script][-REGION]
        return tables().language_codes.get(simple[1].lower())
    import langcodes  # rare shapes only: importing it costs ~0.1 s

    try:
        primary = langcodes.Language.get(tag.replace("_", "-")).language
    except (ValueError, LookupError):
        return None
    return primary if primary in tables().iso639_1 else None


# --------------------------------------------------------------------------- country


def country(v: object) -> str:
    """ISO-3166-1 alpha-2 from a code or a name (``Brasil``, ``USA``, ``Deutschland``)."""
    code = _country(_word(v, "country"))
    if code is None:
        raise Unnormalizable("country is not a known country code or name")
    return code


@lru_cache(maxsize=4096)
def _country(text: str) -> str | None:
    if text.isascii() and text.isalpha() and len(text) in (2, 3):
        code = tables().country_codes.get(text.upper())
        if code is not None:
            return code
    names = tables().country_names
    key = fold(text)
    found = names.get(key)
    if found is None and key.startswith("the"):
        found = names.get(key[3:])
    if found is None and _PAREN.search(text):
        found = names.get(fold(_PAREN.sub(" ", text)))
    return found


def build_tables() -> None:
    """Load the name tables now rather than on the first lookup (~2 ms: shipped data)."""
    tables()
    _gender_table()
