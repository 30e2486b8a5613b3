"""Parsing of the ``justuno-braze sandbox`` option values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from justuno_braze.sandbox.options import (
    SandboxOptions,
    SandboxOptionsError,
    options_from_cli,
    parse_api_key,
    parse_rate_limit,
    parse_subscription_group,
)

GROUP = "3f1c2a7e-9b1d-4c1e-8f6a-2b7c9d0e1f23"


def test_defaults() -> None:
    options = options_from_cli()
    assert options.api_keys == {"sandbox-key": None}
    assert options.limits()["users.track"] == (3000, 3.0)
    assert options.subscription_groups == {}


def test_api_keys_with_and_without_permissions() -> None:
    options = options_from_cli(api_keys=["all", "ro:users.export.ids, custom_attributes.get"])
    assert options.api_keys == {
        "all": None,
        "ro": frozenset({"users.export.ids", "custom_attributes.get"}),
    }


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(":users.track", "empty"), ("k:", "empty"), ("k:users.fly", "users.fly")],
)
def test_bad_api_keys(value: str, fragment: str) -> None:
    with pytest.raises(SandboxOptionsError, match=fragment):
        parse_api_key(value)


def test_duplicate_key_is_refused() -> None:
    with pytest.raises(SandboxOptionsError, match="twice"):
        options_from_cli(api_keys=["k", "k:users.track"])


def test_rate_limit() -> None:
    assert parse_rate_limit("10/1") == (10, 1.0)
    assert parse_rate_limit(" 3000 / 3 ") == (3000, 3.0)
    for bad in ("10", "0/1", "10/0", "ten/1"):
        with pytest.raises(SandboxOptionsError, match="--rate-limit"):
            parse_rate_limit(bad)


def test_subscription_group() -> None:
    assert parse_subscription_group(f"{GROUP.upper()}:SMS") == (GROUP, "sms")
    for bad in (GROUP, f"{GROUP}:push", "abc:sms"):
        with pytest.raises(SandboxOptionsError, match="--subscription-group"):
            parse_subscription_group(bad)


def test_custom_attributes_file(tmp_path: Path) -> None:
    good = tmp_path / "attrs.json"
    good.write_text(json.dumps([{"name": "a", "data_type": "Number"}]))
    options = options_from_cli(custom_attributes=good)
    assert options.custom_attributes[0]["status"] == "Active"
    wrapped = tmp_path / "answer.json"  # a saved GET /custom_attributes answer
    wrapped.write_text(json.dumps({"message": "success", "attributes": [{"name": "b"}]}))
    assert options_from_cli(custom_attributes=wrapped).custom_attributes[0]["name"] == "b"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "invalid JSON"),
        ('{"a": 1}', "expected a JSON list"),
        ('[{"data_type": "Number"}]', "'name'"),
        ('[{"name": "a"}, {"name": "a"}]', "duplicate"),
        ('[{"name": "a", "status": "Gone"}]', "status"),
        ('[{"name": "a", "colour": 1}]', "colour"),
    ],
)
def test_bad_custom_attributes_file(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "attrs.json"
    path.write_text(content)
    with pytest.raises(SandboxOptionsError, match=fragment):
        options_from_cli(custom_attributes=path)


def test_missing_custom_attributes_file(tmp_path: Path) -> None:
    with pytest.raises(SandboxOptionsError, match="--custom-attributes"):
        options_from_cli(custom_attributes=tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"fault_rate": 1.5}, "--fault-rate"),
        ({"fault_status": 404}, "--fault-status"),
        ({"latency_ms": -1}, "--latency-ms"),
        ({"combined_cap": 0}, "--combined-cap"),
        ({"api_keys": {}}, "API key"),
    ],
)
def test_bad_values(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(SandboxOptionsError, match=fragment):
        SandboxOptions(**kwargs)  # type: ignore[arg-type]


def test_state_file_checks(tmp_path: Path) -> None:
    assert options_from_cli(state=tmp_path / "new.json").state == tmp_path / "new.json"
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(SandboxOptionsError, match="--state"):
        options_from_cli(state=bad)
    other = tmp_path / "other.json"
    other.write_text('{"something": "else"}')
    with pytest.raises(SandboxOptionsError, match="not a sandbox state file"):
        options_from_cli(state=other)
    with pytest.raises(SandboxOptionsError, match="directory"):
        options_from_cli(state=tmp_path / "missing" / "state.json")
