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

The name tables are built lazily, once per process (about two seconds: babel loads the
CLDR data of every language for the autonyms); ``build_tables()`` builds them up front,
e.g. when a server or an import starts. Lookups are cached.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import langcodes
import pycountry
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from justuno_braze.normalize.contact import Unnormalizable

# Names in these locales are known for every country and language, after the English
# and native names (which win a clash).
MAJOR_LOCALES = ("es", "pt", "fr", "de", "it", "nl", "ja", "zh", "ru", "pl", "sv", "tr", "ko")

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

_DROP = re.compile(r"[\W_]+")
_PAREN = re.compile(r"\s*[(\[].*?[)\]]\s*")
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


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


@cache
def _iso639_1() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


@cache
def _language_names() -> dict[str, str]:
    valid = _iso639_1()
    table: dict[str, str] = {}

    def add(name: str, code: str) -> None:
        primary = code.split("_")[0]
        if primary in valid:
            table.setdefault(fold(name), primary)

    for lang in pycountry.languages:
        if hasattr(lang, "alpha_2"):
            add(lang.name, lang.alpha_2)
    english = Locale("en")
    for code, label in english.languages.items():
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


def language(v: object) -> str:
    """ISO-639-1 from a code, a BCP-47 tag or a language name (``Português`` → ``pt``)."""
    code = _language(_word(v, "language"))
    if code is None:
        raise Unnormalizable("language is not a known language with an ISO-639-1 code")
    return code


@lru_cache(maxsize=4096)
def _language(text: str) -> str | None:
    if _TAG.fullmatch(text):
        try:
            primary = langcodes.Language.get(text.replace("_", "-")).language
        except (ValueError, LookupError):
            primary = None
        if primary in _iso639_1():
            return primary
    names = _language_names()
    found = names.get(fold(text))
    if found is None and _PAREN.search(text):  # "Português (Brasil)"
        found = names.get(fold(_PAREN.sub(" ", text)))
    return found


# --------------------------------------------------------------------------- country


@cache
def _country_names() -> dict[str, str]:
    iso = {c.alpha_2 for c in pycountry.countries}
    table: dict[str, str] = {}

    def add(name: str, code: str) -> None:
        if code in iso:
            table.setdefault(fold(name), code)

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


def country(v: object) -> str:
    """ISO-3166-1 alpha-2 from a code or a name (``Brasil``, ``USA``, ``Deutschland``)."""
    code = _country(_word(v, "country"))
    if code is None:
        raise Unnormalizable("country is not a known country code or name")
    return code


@lru_cache(maxsize=4096)
def _country(text: str) -> str | None:
    if text.isascii() and text.isalpha():
        upper = text.upper()
        if len(upper) == 2 and (hit := pycountry.countries.get(alpha_2=upper)) is not None:
            return str(hit.alpha_2)
        if len(upper) == 3 and (hit := pycountry.countries.get(alpha_3=upper)) is not None:
            return str(hit.alpha_2)
    names = _country_names()
    key = fold(text)
    found = names.get(key)
    if found is None and key.startswith("the"):
        found = names.get(key[3:])
    if found is None and _PAREN.search(text):
        found = names.get(fold(_PAREN.sub(" ", text)))
    return found


def build_tables() -> None:
    """Build the lazy name tables now rather than on the first name lookup."""
    _gender_table()
    _language_names()
    _country_names()
