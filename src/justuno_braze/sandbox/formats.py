"""Braze's value formats: dates, emails, phones, countries, time zones, UUIDs.

Pure functions with precompiled patterns; none raises in the common path (a bad value
returns ``None``/``False``). Sources: braze-api.md §3 (standard fields) and §4.3 (dates).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA


class TimeValue(str):
    """A Braze *time* value, kept as ``YYYY-MM-DDTHH:MM:SS.sssZ`` (what export shows)."""

    __slots__ = ()


# A plausible address is LOCAL@DOMAIN; a local part has no "@", so the first "@" splits it.
_EMAIL_LOCAL = re.compile(r"[^@\s\"(),:;<>\[\\\]]+")
_EMAIL_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOB = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
_NON_DIGITS = re.compile(r"\D+")
_CANONICAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# ISO-8601 and the other formats of §4.3. Groups: y m d [H M S [frac]] [zone].
_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.:](\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$",
    re.IGNORECASE,
)
_US = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")  # MM/dd/yyyy (and 12-1-2021)
_RUBY = re.compile(  # ddd MM dd HH:mm:ss.TZD YYYY, e.g. "Tue Dec 21 10:00:00 +0000 2021"
    r"^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? ?"
    r"(Z|UTC|[+-]\d{2}:?\d{2})? (\d{4})$"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def _zone(text: str | None) -> timezone:
    if not text or text.upper() in ("Z", "UTC"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_time(value: object) -> datetime | None:
    """A Braze date string → aware datetime (no zone = UTC), or None when not a date."""
    if not isinstance(value, str) or not value or not value[0].isalnum():
        return None
    try:
        match = _ISO.match(value)
        if match:
            y, mo, d, hh, mi, ss, frac, zone = match.groups()
            micro = int((frac or "0").ljust(6, "0")[:6])
            return datetime(
                int(y),
                int(mo),
                int(d),
                int(hh or 0),
                int(mi or 0),
                int(ss or 0),
                micro,
                tzinfo=_zone(zone),
            )
        match = _US.match(value)
        if match:
            mo, d, y = match.groups()
            return datetime(int(y), int(mo), int(d), tzinfo=UTC)
        match = _RUBY.match(value)
        if match:
            mon, d, hh, mi, ss, zone, y = match.groups()
            month = _MONTHS.get(mon.lower())
            if month is None:
                return None
            return datetime(int(y), month, int(d), int(hh), int(mi), int(ss), tzinfo=_zone(zone))
    except (ValueError, OverflowError):
        return None
    return None


def format_time(moment: datetime) -> TimeValue:
    """An aware datetime → Braze's export form ``2021-12-21T10:00:00.000Z``."""
    utc = moment.astimezone(UTC)
    return TimeValue(utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z")


def epoch_to_time(seconds: float) -> TimeValue:
    return format_time(datetime.fromtimestamp(seconds, UTC))


def revive_time(value: str) -> str:
    """A string loaded from ``--state``: canonical times become ``TimeValue`` again."""
    return TimeValue(value) if _CANONICAL.match(value) else value


_DOMAINS_SEEN: dict[str, bool] = {}  # few domains, many addresses (a bounded memo)
_MEMO_SIZE = 10_000


def valid_email(value: object) -> bool:
    """A plausible address (local@domain.tld, no spaces).

    Addresses are not memoised: with many users, a lookup in a big memo costs more than
    the check (its memory is rarely in the CPU cache)."""
    if type(value) is not str or len(value) > 254 or ".." in value:
        return False
    local, at, domain = value.partition("@")
    if not at or _EMAIL_LOCAL.fullmatch(local) is None:
        return False
    known = _DOMAINS_SEEN.get(domain)
    if known is None:
        known = _EMAIL_DOMAIN.fullmatch(domain) is not None
        if len(_DOMAINS_SEEN) >= _MEMO_SIZE:
            _DOMAINS_SEEN.clear()
        _DOMAINS_SEEN[domain] = known
    return known


def email_key(email: str) -> str:
    """Emails are looked up case-insensitively (a lower-case email is its own key: one
    string in memory instead of two)."""
    key = email.strip().lower()
    return email if key == email else key


def phone_key(phone: str) -> str:
    """Non-digits are stripped when Braze stores a number (braze-api.md §3)."""
    return _NON_DIGITS.sub("", phone)


@lru_cache(maxsize=65536)
def valid_phone(value: str) -> str | None:
    """A number Braze can look up by → its E.164 form (``+14155552671``), else None.

    A bare 10-digit number is read as a US number (braze-api.md §3).
    """
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def phone_index_key(phone: str) -> str:
    """How the store indexes a stored phone, cheaply (no full parse): ``+`` and the digits
    of an international number, a bare 10-digit (or 1 + 10-digit) number read as US
    (braze-api.md §3), else the digits. For a valid number this is its E.164 form, the key
    ``valid_phone`` gives to lookups."""
    if phone[:1] == "+" and phone[1:].isdecimal():
        return phone  # already E.164-shaped (``isdecimal`` is what ``\d`` matches)
    digits = _NON_DIGITS.sub("", phone)
    if phone.lstrip()[:1] == "+":
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits[0] == "1":
        return "+" + digits
    return digits


def _country_table() -> tuple[frozenset[str], dict[str, str]]:
    codes = {c for c in LOCALE_DATA if len(c) == 2 and c.isalpha() and c.isupper()}
    names: dict[str, str] = {}
    for code in codes:
        entry = LOCALE_DATA[code]
        english = entry.get("en") or ""
        if english.startswith("*"):
            english = entry.get(english[1:]) or ""
        if english:
            names[english.lower()] = code
    names.update(
        {
            "usa": "US",
            "united states of america": "US",
            "u.s.": "US",
            "u.s.a.": "US",
            "uk": "GB",
            "great britain": "GB",
            "england": "GB",
            "scotland": "GB",
            "wales": "GB",
            "south korea": "KR",
            "korea": "KR",
            "russia": "RU",
        }
    )
    return frozenset(codes), names


COUNTRY_CODES, _COUNTRY_NAMES = _country_table()
SHARED_CODES = {code: code for code in COUNTRY_CODES}  # profiles share these strings


def country_code(value: str) -> str | None:
    """ISO-3166-1 alpha-2 as sent, or mapped from a name; None when nothing matches."""
    code = SHARED_CODES.get(value)
    if code is not None:
        return code
    text = value.strip()
    if len(text) == 2 and text.upper() in COUNTRY_CODES:
        return text.upper()
    return _COUNTRY_NAMES.get(text.lower())


TIME_ZONES = frozenset(zoneinfo.available_timezones())


_DOBS_SEEN: dict[str, bool] = {}  # a century has ~37,000 dates (a bounded memo)
_DOB_MEMO_SIZE = 65_536


def valid_dob(value: str) -> bool:
    """``YYYY-MM-DD`` naming a real date.

    Memoised in a plain dict, not ``lru_cache``: on every hit that one relinks its
    recency list, touching two entries that are rarely in the CPU cache."""
    known = _DOBS_SEEN.get(value)
    if known is None:
        known = _real_date(value)
        if len(_DOBS_SEEN) >= _DOB_MEMO_SIZE:
            _DOBS_SEEN.clear()
        _DOBS_SEEN[value] = known
    return known


def _real_date(value: str) -> bool:
    match = DOB.match(value)
    if not match:
        return False
    try:
        datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True
