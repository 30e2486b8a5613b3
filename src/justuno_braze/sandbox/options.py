"""Sandbox options: the ``SandboxOptions`` dataclass and parsing of the CLI values.

Every parser raises ``SandboxOptionsError`` with a message naming the bad value, so the
``justuno-braze sandbox`` command can print it and exit 2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

DEFAULT_API_KEY = "sandbox-key"
MAX_BODY_BYTES = 4 * 1024 * 1024

# Permissions of the endpoints the sandbox serves (braze-api.md §1.3), plus a few that a
# real key may carry; ``--api-key KEY:perm`` accepts only names from this set.
PERMISSIONS = frozenset(
    {
        "users.track",
        "users.track.sync",
        "users.track.bulk",
        "users.alias.new",
        "users.alias.update",
        "users.identify",
        "users.merge",
        "users.delete",
        "users.export.ids",
        "users.export.segment",
        "users.external_ids.rename",
        "users.external_ids.remove",
        "custom_attributes.get",
        "events.get",
        "events.list",
        "subscription.status.set",
        "subscription.status.get",
        "subscription.groups.get",
        "email.status",
        "email.unsubscribe",
    }
)

# Default limits per endpoint family (braze-api.md §8.1): (requests, window seconds).
DEFAULT_RATE_LIMITS: Mapping[str, tuple[int, float]] = {
    "users.track": (3000, 3.0),
    "users.export.ids": (2500, 60.0),
    "users.identity": (20000, 60.0),
    "custom_attributes": (1000, 3600.0),
    "subscription.set": (5000, 60.0),
    "default": (250000, 3600.0),
}

CHANNELS = ("sms", "email")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")
_ATTRIBUTE_KEYS = {"name", "description", "data_type", "array_length", "status", "tag_names"}


class SandboxOptionsError(ValueError):
    """A sandbox option has a bad value; the message names it."""


@dataclass(frozen=True)
class SandboxOptions:
    """Everything that shapes one sandbox instance.

    ``api_keys`` maps a key to its permissions (``None`` = every permission).
    ``subscription_groups`` maps a group UUID to ``"sms"``/``"email"``; empty means any
    well-formed UUID is accepted. ``rate_limits`` overrides the per-family defaults of
    ``DEFAULT_RATE_LIMITS`` (``track_rate`` is the ``users.track`` one). ``clock`` returns
    epoch seconds (tests inject a fake one); ``seed`` makes fault injection repeatable.
    ``combined_cap`` switches on the new-pricing mode: a cap over all three
    ``/users/track`` arrays, and 429s carrying ``X-Ratelimit-Retry-After`` instead of the
    ``X-RateLimit-*`` headers.
    """

    api_keys: Mapping[str, frozenset[str] | None] = field(
        default_factory=lambda: {DEFAULT_API_KEY: None}
    )
    custom_attributes: tuple[Mapping[str, Any], ...] = ()
    track_rate: tuple[int, float] = (3000, 3.0)
    rate_limits: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_status: int = 503
    subscription_groups: Mapping[str, str] = field(default_factory=dict)
    state: Path | None = None
    combined_cap: int | None = None
    array_max_length: int = 500
    seed: int | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise SandboxOptionsError("at least one API key is needed")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise SandboxOptionsError(
                f"--fault-rate must be between 0 and 1, got {self.fault_rate}"
            )
        if self.fault_status != 429 and not 500 <= self.fault_status <= 599:
            raise SandboxOptionsError(
                f"--fault-status must be 429 or a 5xx status, got {self.fault_status}"
            )
        if self.latency_ms < 0:
            raise SandboxOptionsError(f"--latency-ms must be >= 0, got {self.latency_ms}")
        normalized = validate_custom_attributes(list(self.custom_attributes))
        object.__setattr__(self, "custom_attributes", normalized)
        if self.combined_cap is not None and self.combined_cap < 1:
            raise SandboxOptionsError(f"--combined-cap must be >= 1, got {self.combined_cap}")

    def limits(self) -> dict[str, tuple[int, float]]:
        """The effective rate limit of every endpoint family."""
        merged = dict(DEFAULT_RATE_LIMITS)
        merged["users.track"] = self.track_rate
        merged.update(self.rate_limits)
        return merged


def parse_api_key(value: str) -> tuple[str, frozenset[str] | None]:
    """``KEY`` or ``KEY:perm,perm`` → (key, permissions or None for all)."""
    key, sep, perms = value.partition(":")
    key = key.strip()
    if not key:
        raise SandboxOptionsError(f"--api-key {value!r}: the key is empty")
    if not sep:
        return key, None
    names = [p.strip() for p in perms.split(",") if p.strip()]
    if not names:
        raise SandboxOptionsError(f"--api-key {key}:…: the permission list is empty")
    unknown = sorted(set(names) - PERMISSIONS)
    if unknown:
        raise SandboxOptionsError(
            f"--api-key {key}: unknown permission(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(PERMISSIONS))}"
        )
    return key, frozenset(names)


def parse_rate_limit(value: str) -> tuple[int, float]:
    """``N/SECONDS`` → (N, seconds), both positive."""
    match = _RATE.match(value)
    if not match:
        raise SandboxOptionsError(f"--rate-limit {value!r}: expected N/SECONDS, e.g. 3000/3")
    count, seconds = int(match.group(1)), float(match.group(2))
    if count < 1 or seconds <= 0:
        raise SandboxOptionsError(f"--rate-limit {value!r}: N and SECONDS must be positive")
    return count, seconds


def parse_subscription_group(value: str) -> tuple[str, str]:
    """``UUID:sms|email`` → (uuid, channel)."""
    group_id, sep, channel = value.rpartition(":")
    channel = channel.strip().lower()
    if not sep or channel not in CHANNELS:
        raise SandboxOptionsError(f"--subscription-group {value!r}: expected ID:sms or ID:email")
    if not _UUID.match(group_id.strip()):
        raise SandboxOptionsError(f"--subscription-group {value!r}: {group_id!r} is not a UUID")
    return group_id.strip().lower(), channel


def validate_custom_attributes(
    items: object, source: str = "custom attributes"
) -> tuple[dict[str, Any], ...]:
    """Check a list shaped like the ``attributes`` of ``GET /custom_attributes``."""
    if not isinstance(items, list):
        raise SandboxOptionsError(f"{source}: expected a JSON list of attribute objects")
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{source}[{index}]"
        if not isinstance(item, dict):
            raise SandboxOptionsError(f"{where}: expected an object")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise SandboxOptionsError(f"{where}: 'name' must be a non-empty string")
        if name in seen:
            raise SandboxOptionsError(f"{where}: duplicate name {name!r}")
        seen.add(name)
        unknown = sorted(set(item) - _ATTRIBUTE_KEYS)
        if unknown:
            raise SandboxOptionsError(f"{where}: unknown key(s) {', '.join(unknown)}")
        data_type = item.get("data_type", "String")
        if not isinstance(data_type, str) or not data_type:
            raise SandboxOptionsError(f"{where}: 'data_type' must be a non-empty string")
        status = item.get("status", "Active")
        if status not in ("Active", "Blocklisted"):
            raise SandboxOptionsError(f"{where}: 'status' must be Active or Blocklisted")
        array_length = item.get("array_length")
        if array_length is not None and (
            not isinstance(array_length, int) or isinstance(array_length, bool) or array_length < 0
        ):
            raise SandboxOptionsError(f"{where}: 'array_length' must be null or an integer >= 0")
        tags = item.get("tag_names", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise SandboxOptionsError(f"{where}: 'tag_names' must be a list of strings")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise SandboxOptionsError(f"{where}: 'description' must be null or a string")
        result.append(
            {
                "name": name,
                "description": description,
                "data_type": data_type,
                "array_length": array_length,
                "status": status,
                "tag_names": list(tags),
            }
        )
    return tuple(result)


def load_custom_attributes(path: Path) -> tuple[dict[str, Any], ...]:
    """Read and check a ``--custom-attributes`` file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SandboxOptionsError(f"--custom-attributes {path}: {exc.strerror}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SandboxOptionsError(f"--custom-attributes {path}: invalid JSON ({exc})") from None
    if isinstance(data, dict) and "attributes" in data:
        data = data["attributes"]  # a saved GET /custom_attributes answer works too
    return validate_custom_attributes(data, f"--custom-attributes {path}")


def check_state_file(path: Path) -> None:
    """A ``--state`` file must be absent (start empty) or a state the sandbox wrote."""
    if not path.exists():
        if not path.parent.is_dir():
            raise SandboxOptionsError(f"--state {path}: the directory does not exist")
        return
    if not path.is_file():
        raise SandboxOptionsError(f"--state {path}: not a file")
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SandboxOptionsError(f"--state {path}: unreadable ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("users"), list):
        raise SandboxOptionsError(f"--state {path}: not a sandbox state file")


def options_from_cli(
    *,
    api_keys: Iterable[str] = (),
    custom_attributes: Path | None = None,
    rate_limit: str | None = None,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    fault_status: int = 503,
    subscription_groups: Iterable[str] = (),
    state: Path | None = None,
    combined_cap: int | None = None,
) -> SandboxOptions:
    """Turn the raw ``justuno-braze sandbox`` option values into ``SandboxOptions``."""
    keys: dict[str, frozenset[str] | None] = {}
    for value in api_keys:
        key, perms = parse_api_key(value)
        if key in keys:
            raise SandboxOptionsError(f"--api-key {key}: given twice")
        keys[key] = perms
    groups: dict[str, str] = {}
    for value in subscription_groups:
        group_id, channel = parse_subscription_group(value)
        groups[group_id] = channel
    if state is not None:
        check_state_file(state)
    return SandboxOptions(
        api_keys=keys or {DEFAULT_API_KEY: None},
        custom_attributes=load_custom_attributes(custom_attributes) if custom_attributes else (),
        track_rate=parse_rate_limit(rate_limit) if rate_limit else (3000, 3.0),
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_status=fault_status,
        subscription_groups=groups,
        state=state,
        combined_cap=combined_cap,
    )
