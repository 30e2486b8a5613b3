"""Evaluating workflow conditions against a visitor's profile and the current event (pure).

**What a condition's ``property`` reads** (behaviour fields win over a profile property of
the same name):

- ``sessions``, ``page_views``, ``forms_submitted``, ``first_seen``, ``last_seen``: the
  profile's counters and times (the profile is expected to include the current event);
- ``url`` / ``page_url``: the event's page URL; ``design`` / ``design_id``: the event's
  design id;
- ``channel``: where the visit came from, one of Justuno's channels ``direct``,
  ``organic``, ``paid_search``, ``social``, ``email``, ``referral``, ``display``,
  ``affiliate``, ``other`` — see ``channel()`` for the rule;
- anything else (``country``, ``language``, ``email``, ``interests``…): the profile
  property of that name.

**Missing values**: a property that is absent, null, blank text or an empty list is
*missing*. Every operator is false on a missing value except ``not_exists`` — including
``not_equals`` and ``not_in`` (a condition about a value needs a value; to let unknown
visitors through too, write ``any: [{property: p, op: not_exists}, {property: p, op:
not_equals, value: X}]``).

**Comparisons**: text compares case-insensitively, ignoring surrounding spaces;
``country`` and ``language`` compare after normalisation when both sides can be normalised
(``Brasil`` equals ``BR``, ``Português`` equals ``pt``); ``channel`` also ignores spaces and
dashes (``Paid search`` equals ``paid_search``). A number equals a numeric text (``"34"``
equals ``34``); ``true``/``false`` equal the texts ``"true"``/``"false"``. A list-valued
property (checkboxes) is tested with ``contains`` (membership) or ``in`` / ``not_in`` (any
element in / no element in the values); ``equals`` on a list is false. ``gt``, ``gte``,
``lt``, ``lte`` compare numbers (numeric texts included) or, when the condition's value is
an ISO date, dates: a date-only value compares calendar days (UTC), a date-time compares
instants (naive times are UTC).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from justuno_braze import normalize
from justuno_braze.events import Event, Profile
from justuno_braze.workflows.model import (
    ORDER_OPERATORS,
    Condition,
    ConditionGroup,
    ConditionValue,
    Operator,
    Scalar,
)

_MISSING = object()
#: Properties whose value may be shown in a reason (never personal data).
_SHOWN_PROPERTIES = frozenset(
    {
        "sessions",
        "page_views",
        "forms_submitted",
        "country",
        "language",
        "channel",
        "design",
        "design_id",
    }
)

_EVENT_FIELDS = frozenset({"url", "page_url", "design", "design_id", "channel"})
_COMPARE: dict[Operator, Callable[[Any, Any], Any]] = {
    Operator.GT: operator.gt,
    Operator.GTE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LTE: operator.le,
}

_MEDIUM_CHANNELS = {
    "email": "email",
    "e-mail": "email",
    "newsletter": "email",
    "cpc": "paid_search",
    "ppc": "paid_search",
    "paid": "paid_search",
    "paidsearch": "paid_search",
    "paid_search": "paid_search",
    "sem": "paid_search",
    "social": "social",
    "social-media": "social",
    "social_media": "social",
    "paid_social": "social",
    "paidsocial": "social",
    "display": "display",
    "banner": "display",
    "cpm": "display",
    "affiliate": "affiliate",
    "referral": "referral",
    "organic": "organic",
}
_SEARCH_HOSTS = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
_SOCIAL_HOSTS = (
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "pinterest.",
    "tiktok.",
    "youtube.",
    "reddit.",
)
_MAIL_HOSTS = ("mail.google.", "outlook.", "mail.yahoo.")


def channel(event: Event) -> str | None:
    """The visit's channel, or ``None`` when the event says nothing about it.

    1. ``utm_medium`` of the page URL: email/newsletter → ``email``; cpc/ppc/paid/sem →
       ``paid_search``; social/paid_social → ``social``; display/banner/cpm → ``display``;
       ``affiliate``, ``referral``, ``organic`` as such; any other medium → ``other``.
    2. Ad click ids in the page URL: ``gclid``/``msclkid`` → ``paid_search``, ``fbclid`` →
       ``social``.
    3. A ``referrer`` (or ``referrer_url``) event property on another host: search engines →
       ``organic``, social networks → ``social``, web mail → ``email``, else ``referral``.
    4. A page URL and nothing else → ``direct``. No page URL and no referrer → ``None``.
    """
    page_host, query = _split(event.page_url)
    medium = (query.get("utm_medium") or [""])[0].strip().lower()
    if medium:
        return _MEDIUM_CHANNELS.get(medium, "other")
    if "gclid" in query or "msclkid" in query:
        return "paid_search"
    if "fbclid" in query:
        return "social"
    referrer = event.properties.get("referrer") or event.properties.get("referrer_url")
    if isinstance(referrer, str) and referrer.strip():
        host, _ = _split(referrer.strip())
        if host and host != page_host:
            return _referrer_channel(host)
    return "direct" if event.page_url else None


def _split(url: str | None) -> tuple[str, dict[str, list[str]]]:
    """Host (lower case) and query parameters (lower-case names) of a URL; empty if invalid."""
    if not url:
        return "", {}
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "", {}
    return host, {k.lower(): v for k, v in parse_qs(parts.query).items()}


def _referrer_channel(host: str) -> str:
    def matches(patterns: tuple[str, ...]) -> bool:
        # "google." matches any label run starting there (www.google.co.uk); "x.com" the
        # domain itself and its subdomains only.
        return any(
            (host.startswith(p) or f".{p}" in host)
            if p.endswith(".")
            else (host == p or host.endswith(f".{p}"))
            for p in patterns
        )

    if matches(_MAIL_HOSTS):
        return "email"
    if matches(_SEARCH_HOSTS):
        return "organic"
    if matches(_SOCIAL_HOSTS):
        return "social"
    return "referral"


def resolve(prop: str, profile: Profile, event: Event) -> object:
    """The value a condition on ``prop`` reads, or ``_MISSING``."""
    value: object
    match prop:
        case "sessions" | "page_views" | "forms_submitted" | "first_seen" | "last_seen":
            value = getattr(profile, prop)
        case "url" | "page_url":
            value = event.page_url
        case "design" | "design_id":
            value = event.design_id
        case "channel":
            value = channel(event)
        case _:
            value = profile.properties.get(prop)
    if value is None or value == "" or value == [] or value == {}:
        return _MISSING
    if isinstance(value, str) and not value.strip():
        return _MISSING
    return value


def evaluate(condition: Condition | ConditionGroup, profile: Profile, event: Event) -> bool:
    """Whether the condition (or group) holds for this profile and event."""
    if isinstance(condition, ConditionGroup):
        results = (evaluate(c, profile, event) for c in condition.conditions)
        return all(results) if condition.mode == "all" else any(results)
    return _holds(condition, resolve(condition.property, profile, event))


def explain(condition: Condition | ConditionGroup, profile: Profile, event: Event) -> str | None:
    """``None`` when the condition holds, else why not (``country equals US (profile has
    'BR')``; values of personal properties are never shown)."""
    if isinstance(condition, ConditionGroup):
        failures = [explain(c, profile, event) for c in condition.conditions]
        if condition.mode == "all":
            return next((f for f in failures if f is not None), None)
        if any(f is None for f in failures):
            return None
        if len(failures) == 1:
            return failures[0]
        return "none of [" + "; ".join(f for f in failures if f is not None) + "] holds"
    actual = resolve(condition.property, profile, event)
    if _holds(condition, actual):
        return None
    return f"{describe(condition)} ({_has(condition.property, actual)})"


def describe(condition: Condition | ConditionGroup) -> str:
    """A condition as a person reads it: ``page_views gte 2``, ``country in [US, CA]``."""
    if isinstance(condition, ConditionGroup):
        inner = ", ".join(describe(c) for c in condition.conditions)
        return f"{condition.mode} of [{inner}]"
    if condition.value is None:
        return f"{condition.property} {condition.op.value}"
    return f"{condition.property} {condition.op.value} {_show(condition.value)}"


def _show(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _has(prop: str, actual: object) -> str:
    if actual is _MISSING:
        return f"{'event' if prop in _EVENT_FIELDS else 'profile'} has no {prop}"
    if prop not in _SHOWN_PROPERTIES:
        return "profile has another value"
    shown = _show(actual)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"profile has {shown!r}" if isinstance(actual, str) else f"profile has {shown}"


def _holds(c: Condition, actual: object) -> bool:
    if c.op is Operator.NOT_EXISTS:
        return actual is _MISSING
    if actual is _MISSING:
        return False
    if c.op is Operator.EXISTS:
        return True
    canon = _canonicaliser(c.property)
    match c.op:
        case Operator.EQUALS:
            return _equal(actual, c.value, canon)
        case Operator.NOT_EQUALS:
            return not _equal(actual, c.value, canon)
        case Operator.IN | Operator.NOT_IN:
            found = _any_in(actual, c.value, canon)
            return found if c.op is Operator.IN else not found
        case Operator.CONTAINS:
            return _contains(actual, c.value, canon)
        case _:
            assert c.op in ORDER_OPERATORS
            return _ordered(c.op, actual, c.value)


def _canonicaliser(prop: str) -> Callable[[str], str]:
    normaliser: Callable[[object], str] | None = {
        "country": normalize.country,
        "language": normalize.language,
    }.get(prop)

    def canon(text: str) -> str:
        if normaliser is not None:
            try:
                return normaliser(text).casefold()
            except ValueError:
                pass
        folded = text.strip().casefold()
        if prop == "channel":
            folded = folded.replace(" ", "_").replace("-", "_")
        return folded

    return canon


def _number(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            n = float(v.strip())
        except ValueError:
            return None
        return n if math.isfinite(n) else None
    return None


def _boolean(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().casefold() in ("true", "false"):
        return v.strip().casefold() == "true"
    return None


def _equal(actual: object, expected: object, canon: Callable[[str], str]) -> bool:
    if isinstance(actual, list | dict | tuple):
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        a, e = _boolean(actual), _boolean(expected)
        return a is not None and a == e
    if isinstance(actual, int | float) or isinstance(expected, int | float):
        n = _number(actual)
        return n is not None and n == _number(expected)
    if isinstance(actual, str) and isinstance(expected, str):
        return canon(actual) == canon(expected)
    return False


def _any_in(actual: object, values: ConditionValue, canon: Callable[[str], str]) -> bool:
    options: tuple[Scalar, ...] = values if isinstance(values, tuple) else ()
    items = actual if isinstance(actual, list) else [actual]
    return any(_equal(item, option, canon) for item in items for option in options)


def _contains(actual: object, expected: ConditionValue, canon: Callable[[str], str]) -> bool:
    if isinstance(actual, list):
        return any(_equal(item, expected, canon) for item in actual)
    if isinstance(actual, str) and not isinstance(expected, tuple | bool) and expected is not None:
        return str(expected).strip().casefold() in actual.casefold()
    return False


def _ordered(op: Operator, actual: object, expected: ConditionValue) -> bool:
    a: float | date | datetime | None
    e: float | date | datetime | None
    if isinstance(expected, str):  # an ISO date (validated by the model)
        a, e = _moment(actual), _moment(expected)
        if isinstance(a, datetime) and type(e) is date:
            a = a.date()
        elif type(a) is date and isinstance(e, datetime):
            a = datetime(a.year, a.month, a.day, tzinfo=UTC)
    else:
        a, e = _number(actual), _number(expected)
    if a is None or e is None:
        return False
    try:
        return bool(_COMPARE[op](a, e))
    except TypeError:  # a date against a number cannot happen (validated), but never crash
        return False


def _moment(v: object) -> date | datetime | None:
    """A date or an aware date-time (UTC) from a datetime or ISO text, else ``None``."""
    if isinstance(v, datetime):
        return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    if not isinstance(v, str):
        return None
    text = v.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
