"""What the Apps pages show, built from the apps service's views: catalog cards, the
REST endpoint picker, the custom-attribute table, and the service's refusals in plain
words for a marketer (the service's messages are written for the API and the logs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from justuno_braze.braze.attributes import AttributeSchema, AttributeType, CustomAttribute
from justuno_braze.braze.instances import INSTANCES
from justuno_braze.braze.step import object_target_message
from justuno_braze.errors import InputError
from justuno_braze.services.apps import AppDescriptor, ConnectionRefused, ConnectionView

OTHER = "other"  # the picker's value for "I type the URL myself"


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class AppCard:
    """One card of the catalog: the app and whether this account has it connected."""

    app: AppDescriptor
    connected: bool
    failing: bool


def app_cards(
    apps: Iterable[AppDescriptor], connections: Sequence[ConnectionView]
) -> list[AppCard]:
    return [
        AppCard(
            app,
            connected=any(c.app == app.id for c in connections),
            failing=any(c.app == app.id and c.status != "ok" for c in connections),
        )
        for app in apps
    ]


# --------------------------------------------------------------------------- endpoint picker


def endpoint_options(allowed: Sequence[str]) -> list[tuple[str, str, bool]]:
    """The REST endpoint ``<select>``: Braze's instances, the hosts this server allows
    besides them (a sandbox, a proxy — only when the operator listed them), "Other URL"."""
    options = [("", "Choose your Braze instance…", False)]
    options += [(i.rest_url, f"{i.code} — {i.rest_url}", False) for i in INSTANCES]
    options += [(url, f"Allowed by this server — {url}", False) for url in dict.fromkeys(allowed)]
    options.append((OTHER, "Other URL (type it below)", False))
    return options


def chosen_endpoint(picked: str, typed: str) -> tuple[str, str]:
    """``(rest_endpoint, form field)`` from the picker and the "Other URL" field.

    A typed URL counts when the picker says "Other URL" or nothing; typing one while an
    instance is picked is ambiguous, so it is refused rather than guessed.
    """
    picked, typed = picked.strip(), typed.strip()
    if picked in ("", OTHER):
        if typed:
            return typed, "other_url"
        if picked == OTHER:
            raise InputError("Type the REST endpoint URL, or pick your instance", field="other_url")
        raise InputError("Pick your Braze instance, or type its REST endpoint", field="instance")
    if typed:
        raise InputError(
            "Pick an instance OR type an Other URL, not both (choose “Other URL” to use "
            "the typed one)",
            field="other_url",
        )
    return picked, "instance"


def key_field(connection_id: int) -> str:
    """The Replace key input of one connection (unique on a page listing several)."""
    return f"new_key_{connection_id}"


def endpoint_label(view: ConnectionView) -> str:
    return f"{view.instance} — {view.rest_endpoint}" if view.instance else view.rest_endpoint


# --------------------------------------------------------------------------- refusals


def refusal_message(exc: InputError, endpoint: str | None = None) -> str:
    """The service's refusal as a sentence telling the user what to do next."""
    if not isinstance(exc, ConnectionRefused):
        text = str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)
        return text[:1].upper() + text[1:]
    where = endpoint or "the REST endpoint"
    if exc.reason == "invalid_key":
        return (
            "Braze refused this API key (401): check you copied the whole key, and that "
            "it belongs to the workspace of this REST endpoint."
        )
    if exc.reason == "missing_permission":
        return (
            "This key lacks the custom_attributes.get permission (Braze answered 403): in "
            "Braze, edit the key under Settings › APIs and Identifiers and tick "
            "users.track and custom_attributes.get."
        )
    if exc.reason == "unreachable":
        return f"Could not reach {where}: check the endpoint. Details: {exc.message}"
    if exc.reason == "timeout":
        return (
            f"Braze at {where} did not answer in time: check the endpoint, or try again. "
            f"Details: {exc.message}"
        )
    return f"Braze answered with an error: {exc.message}. Check the endpoint, or try again later."


def connected_message(view: ConnectionView, verb: str = "Connected to") -> str:
    """``Connected to Braze US-01. 42 custom attributes found.``"""
    count = view.custom_attributes_count or 0
    found = "1 custom attribute" if count == 1 else f"{count} custom attributes"
    return f"{verb} Braze {view.instance or view.rest_endpoint}. {found} found."


# --------------------------------------------------------------------------- attributes


@dataclass(frozen=True, slots=True)
class AttributeRow:
    """A custom attribute as the table shows it; ``not_mappable`` says why it cannot be
    a Sync Another Property target (``None``: it can)."""

    name: str
    type_label: str
    not_mappable: str | None


def attribute_rows(items: list[dict[str, object]]) -> list[AttributeRow]:
    return [_row(attr) for attr in AttributeSchema.from_api(items)]


def _row(attr: CustomAttribute) -> AttributeRow:
    label = attr.type.label
    if attr.type is AttributeType.UNKNOWN and attr.raw_type:
        label = attr.raw_type
    elif attr.type is AttributeType.ARRAY and attr.array_length:
        label = f"Array (up to {attr.array_length} items)"
    reason = None
    if attr.type in (AttributeType.OBJECT, AttributeType.OBJECT_ARRAY):
        reason = object_target_message(attr.name, attr.type)
    elif attr.blocklisted:
        reason = "Blocklisted in Braze: Braze does not process blocklisted attributes"
    return AttributeRow(attr.name, label, reason)


# --------------------------------------------------------------------------- time


def ago(at: datetime | None, now: datetime) -> str | None:
    """``3 hours ago`` (``None`` for ``None``): next to the absolute time, for "since when"."""
    if at is None:
        return None
    seconds = int((now - at).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"
