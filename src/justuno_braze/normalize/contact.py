"""Contact normalisers: email, phone, names and date of birth (pure).

Decisions where PRODUCT.md is silent:

- ``email``: trimmed and lower-cased as a whole, then checked by email-validator with no
  DNS lookups. An internationalised local part (``chloé.rossi0@example.com``) is kept when
  email-validator accepts it (SMTPUTF8 addresses are valid addresses); the result is
  email-validator's normalised form (NFC, IDNA domain in Unicode).
- ``phone``: parsed by phonenumbers with ``region_hint`` (an alpha-2 code, any case; a
  code phonenumbers does not know counts as no hint) for numbers without ``+``; sent as
  E.164 only when ``is_valid_number`` says so.
- ``name``: whitespace trimmed and collapsed, case left alone (``noah`` stays ``noah``).
  Longer than 255 characters is refused (left out with a warning), never cut.
- ``dob``: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD``, ISO date-times
  (their calendar date, no zone conversion), and ``MM/DD/YYYY`` or ``MM-DD-YYYY`` as Braze
  reads them (US order); when the first number cannot be a month (``24/03/1978``) the date
  is read day-first, as it is then unambiguous. Years before 1900 are refused; so are
  dates after ``today`` when the caller passes it (the normaliser does not read the clock).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from justuno_braze.errors import JustunoBrazeError

MAX_NAME_LENGTH = 255
MIN_DOB_YEAR = 1900


class Unnormalizable(JustunoBrazeError, ValueError):
    """A value cannot be put in its Braze form; the attribute is left out with a warning.

    ``reason`` never contains the value itself (it may be personal data).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _text(v: object, what: str) -> str:
    if isinstance(v, str):
        return v
    raise Unnormalizable(f"{what} must be text, not {type(v).__name__}")


def email(v: object) -> str:
    """``" Chloé.Rossi0@Example.com "`` → ``"chloé.rossi0@example.com"``."""
    return _checked(_email(_text(v, "email")))


# The dot-atom local part email-validator accepts without further checks (input is
# lower-cased first). Such an address with an ASCII domain that email-validator accepted
# before is valid as it stands: only the domain check is costly, so it is cached.
_DOT_ATOM = re.compile(r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-z0-9_!#$%&'*+\-/=?^`{|}~]+)*")
EMAIL_MAX_LENGTH = 254


class _Refused(str):
    """A cached "cannot be normalised" answer: the reason (raised afresh on every hit, as
    ``lru_cache`` does not cache exceptions and a re-raised instance keeps growing its
    traceback)."""

    __slots__ = ()


def _checked(result: str) -> str:
    if type(result) is _Refused:
        raise Unnormalizable(str(result))
    return result


def _refusing(fn: Callable[..., str]) -> Callable[..., str]:
    """``fn``'s ``Unnormalizable`` as a returned ``_Refused`` reason, so it can be cached."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> str:
        try:
            return fn(*args)
        except Unnormalizable as exc:
            return _Refused(exc.reason)

    return wrapper


@lru_cache(maxsize=8192)
@_refusing
def _email(v: str) -> str:
    text = v.strip().lower()
    if not text:
        raise Unnormalizable("email is empty")
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(text) <= EMAIL_MAX_LENGTH
        and domain.isascii()
        and _DOT_ATOM.fullmatch(local)
        and _domain_is_valid(domain)
    ):
        return text
    return _validated_email(text)


@lru_cache(maxsize=1024)
def _domain_is_valid(domain: str) -> bool:
    try:
        return validate_email("a@" + domain, check_deliverability=False).domain == domain
    except EmailNotValidError:
        return False


def _validated_email(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Unnormalizable(f"email is not a valid address ({exc})") from None


def phone(v: object, region_hint: str | None) -> str:
    """E.164 (``+5521987654301``) for a valid number; ``region_hint`` is an alpha-2 code."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    text = _text(v, "phone").strip()
    hint = region_hint.strip().upper() if isinstance(region_hint, str) else None
    return _checked(_phone(text, hint or None))


@lru_cache(maxsize=8192)
@_refusing
def _phone(text: str, hint: str | None) -> str:
    if not text:
        raise Unnormalizable("phone is empty")
    if hint is not None and hint not in phonenumbers.SUPPORTED_REGIONS:
        hint = None
    try:
        number = phonenumbers.parse(text, hint)
    except phonenumbers.NumberParseException:
        if hint is None and not text.startswith("+"):
            raise Unnormalizable(
                "phone has no country code and no country to read it with"
            ) from None
        raise Unnormalizable("phone is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise Unnormalizable("phone is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def name(v: object) -> str:
    """``"  Mary   Ann "`` → ``"Mary Ann"``; case is left alone."""
    text = " ".join(_text(v, "name").split())
    if not text:
        raise Unnormalizable("name is empty")
    if len(text) > MAX_NAME_LENGTH:
        raise Unnormalizable(f"name is longer than {MAX_NAME_LENGTH} characters")
    return text


_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_MDY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def dob(v: object, *, today: date | None = None) -> str:
    """A birth date as ``YYYY-MM-DD`` (see the module docstring for accepted forms)."""
    if isinstance(v, datetime):
        d = v.date()
    elif isinstance(v, date):
        d = v
    else:
        read = _dob(_text(v, "date of birth").strip())
        if isinstance(read, _Refused):
            raise Unnormalizable(str(read))
        d = read
    if d.year < MIN_DOB_YEAR:
        raise Unnormalizable(f"date of birth is before {MIN_DOB_YEAR}")
    if today is not None and d > today:
        raise Unnormalizable("date of birth is in the future")
    return d.isoformat()


@lru_cache(maxsize=8192)
def _dob(text: str) -> date | _Refused:
    try:
        return _read_dob(text)
    except Unnormalizable as exc:
        return _Refused(exc.reason)


def _read_dob(text: str) -> date:
    try:
        if m := _YMD.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _MDY.fullmatch(text):
            first, second, year = int(m[1]), int(m[2]), int(m[3])
            if first > 12 >= second:  # cannot be a month: unambiguously day-first
                first, second = second, first
            return date(year, first, second)
        if m := _COMPACT.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if len(text) > 10 and text[10] in "Tt ":
            return datetime.fromisoformat(text).date()
    except ValueError:
        raise Unnormalizable("date of birth is not a valid date") from None
    raise Unnormalizable("date of birth is not a date like 1980-12-21 or 12/21/1980")
