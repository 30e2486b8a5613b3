"""The Braze instance table and the REST endpoint guard."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from justuno_braze.braze.instances import (
    INSTANCES,
    check_braze_url,
    instance_choices,
    instance_for,
)
from justuno_braze.errors import InputError

# braze-api.md §1.2, copied by hand so a typo in the module's table fails here.
TABLE = [
    ("US-01", "https://dashboard-01.braze.com", "https://rest.iad-01.braze.com"),
    ("US-02", "https://dashboard-02.braze.com", "https://rest.iad-02.braze.com"),
    ("US-03", "https://dashboard-03.braze.com", "https://rest.iad-03.braze.com"),
    ("US-04", "https://dashboard-04.braze.com", "https://rest.iad-04.braze.com"),
    ("US-05", "https://dashboard-05.braze.com", "https://rest.iad-05.braze.com"),
    ("US-06", "https://dashboard-06.braze.com", "https://rest.iad-06.braze.com"),
    ("US-07", "https://dashboard-07.braze.com", "https://rest.iad-07.braze.com"),
    ("US-08", "https://dashboard-08.braze.com", "https://rest.iad-08.braze.com"),
    ("US-10", "https://dashboard.us-10.braze.com", "https://rest.us-10.braze.com"),
    ("EU-01", "https://dashboard-01.braze.eu", "https://rest.fra-01.braze.eu"),
    ("EU-02", "https://dashboard-02.braze.eu", "https://rest.fra-02.braze.eu"),
    ("AU-01", "https://dashboard.au-01.braze.com", "https://rest.au-01.braze.com"),
    ("ID-01", "https://dashboard.id-01.braze.com", "https://rest.id-01.braze.com"),
    ("JP-01", "https://dashboard.jp-01.braze.com", "https://rest.jp-01.braze.com"),
    ("KR-01", "https://dashboard.kr-01.braze.com", "https://rest.kr-01.braze.com"),
]


def reason(url: str, allowed: tuple[str, ...] = ()) -> str:
    with pytest.raises(InputError) as info:
        check_braze_url(url, allowed)
    assert info.value.field == "rest_endpoint"
    return str(info.value)


def test_table_matches_braze_docs_exactly() -> None:
    assert [(i.code, i.dashboard_url, i.rest_url) for i in INSTANCES] == TABLE
    assert [c["code"] for c in instance_choices()] == [row[0] for row in TABLE]
    assert instance_choices()[9]["label"] == "EU-01 — rest.fra-01.braze.eu"


@pytest.mark.parametrize(("code", "dashboard", "rest"), TABLE)
def test_every_rest_endpoint_is_accepted_and_normalised(
    code: str, dashboard: str, rest: str
) -> None:
    assert check_braze_url(rest, ()) == rest
    assert check_braze_url(rest.upper().replace("HTTPS", "https") + "/", ()) == rest
    assert check_braze_url(f"  {rest}/users/track?x=1#frag ", ()) == rest
    assert check_braze_url(rest + ":443", ()) == rest
    assert check_braze_url(rest.removeprefix("https://"), ()) == rest  # pasted without scheme
    found = instance_for(rest)
    assert found is not None and found.code == code


@pytest.mark.parametrize(("code", "dashboard", "rest"), TABLE)
def test_every_dashboard_url_points_to_its_rest_endpoint(
    code: str, dashboard: str, rest: str
) -> None:
    assert reason(dashboard + "/auth") == (
        f"rest_endpoint: that is the dashboard URL, not the REST endpoint — did you mean {rest}?"
    )


@pytest.mark.parametrize(("code", "dashboard", "rest"), TABLE)
def test_every_sdk_endpoint_is_refused(code: str, dashboard: str, rest: str) -> None:
    sdk = rest.replace("https://rest.", "https://sdk.")
    assert reason(sdk) == (
        f"rest_endpoint: the SDK endpoint cannot be used for REST calls; use {rest}"
    )


def test_legacy_hosts() -> None:
    # Older docs: US-10 lived at rest.iad-10 / dashboard-10; US-01 and EU-01 had unnumbered
    # dashboards. The old REST host is Braze's own and stays as given.
    assert check_braze_url("https://rest.iad-10.braze.com", ()) == "https://rest.iad-10.braze.com"
    legacy = instance_for("https://rest.iad-10.braze.com")
    assert legacy is not None and legacy.code == "US-10"
    assert "did you mean https://rest.us-10.braze.com?" in reason("https://dashboard-10.braze.com")
    assert "did you mean https://rest.iad-01.braze.com?" in reason("https://dashboard.braze.com")
    assert "did you mean https://rest.fra-01.braze.eu?" in reason("https://dashboard.braze.eu")


def test_unknown_instance_is_named() -> None:
    assert reason("https://rest.iad-09.braze.com") == (
        "rest_endpoint: unknown Braze instance rest.iad-09.braze.com; copy the REST endpoint "
        "shown under Settings › APIs and Identifiers"
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("https://rest.fra-01.braze.com", "https://rest.fra-01.braze.eu"),  # EU on .com
        ("https://rest.iad-01.braze.eu", "https://rest.iad-01.braze.com"),
        ("https://rest.iad-1.braze.com", "https://rest.iad-01.braze.com"),
        ("https://rest.iad01.braze.com", "https://rest.iad-01.braze.com"),
        ("https://rest.us10.braze.com", "https://rest.us-10.braze.com"),
        ("https://rest.iad-03.braze.co", "https://rest.iad-03.braze.com"),
        ("https://rest.iad-03.brazee.com", "https://rest.iad-03.braze.com"),
    ],
)
def test_typos_get_a_suggestion(typed: str, meant: str) -> None:
    assert reason(typed).endswith(f"did you mean {meant}?")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "https://rest.iad-01.braze.com.evil.example",
        "https://127.0.0.1:8080",
        "http://localhost",
        "https://www.braze.com",
    ],
)
def test_other_hosts_are_refused(url: str) -> None:
    message = reason(url)
    assert message.startswith(
        "rest_endpoint: not a Braze REST endpoint: use the REST endpoint shown under "
        "Settings › APIs and Identifiers, e.g. https://rest.iad-01.braze.com"
    )


def test_refusal_of_a_foreign_host_says_how_to_allow_it() -> None:
    assert "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS" in reason("http://127.0.0.1:8080")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://rest.iad-01.braze.com", "Braze REST endpoints use https"),
        ("https://rest.iad-01.braze.com:8443", "default https port"),
        ("https://user:secret@rest.iad-01.braze.com", "must not contain a user name"),
        ("https://rest.iad-01.braze.com@evil.example", "must not contain a user name"),
        ("ftp://rest.iad-01.braze.com", "must start with https://"),
        ("javascript:alert(1)", "must be a full URL starting with https://"),
        ("https://rest.iad-01.braze.com:99999", "not a valid URL"),
        ("https://rest.iad 01.braze.com", "spaces or characters"),
        ("https://", "has no host name"),
        ("", "a REST endpoint URL is required"),
        ("   ", "a REST endpoint URL is required"),
    ],
)
def test_malformed_urls_are_refused_with_the_reason(url: str, expected: str) -> None:
    assert expected in reason(url)


def test_allowed_urls_match_scheme_host_and_port_exactly() -> None:
    allowed = ("http://127.0.0.1:8080", "https://braze-proxy.internal/", "http://[::1]:9000")
    assert check_braze_url("http://127.0.0.1:8080/", allowed) == "http://127.0.0.1:8080"
    assert check_braze_url("HTTP://127.0.0.1:8080/x?y", allowed) == "http://127.0.0.1:8080"
    assert check_braze_url("https://BRAZE-proxy.internal", allowed) == (
        "https://braze-proxy.internal"
    )
    assert check_braze_url("https://braze-proxy.internal:443", allowed) == (
        "https://braze-proxy.internal"
    )
    assert check_braze_url("http://[::1]:9000", allowed) == "http://[::1]:9000"
    reason("http://127.0.0.1:8081", allowed)  # other port
    reason("https://127.0.0.1:8080", allowed)  # other scheme
    reason("http://localhost:8080", allowed)  # other host name, same machine
    reason("http://braze-proxy.internal", allowed)  # http instead of https
    reason("https://evil.braze-proxy.internal", allowed)
    reason("http://user@127.0.0.1:8080", allowed)  # userinfo is never allowed


def test_a_broken_allowed_entry_matches_nothing() -> None:
    assert check_braze_url("https://rest.iad-02.braze.com", ("not a url", "ftp://x")) == (
        "https://rest.iad-02.braze.com"
    )
    reason("https://x", ("not a url",))


def test_instance_for_unknown_hosts() -> None:
    assert instance_for("https://example.com") is None
    assert instance_for("https://dashboard-01.braze.com") is None
    assert instance_for("not a url at all [") is None
    found = instance_for("rest.kr-01.braze.com")
    assert found is not None and found.code == "KR-01"


# --- property: nothing but a known Braze host (or an allowed one) ever comes out -----


KNOWN_HOSTS = {row[2].removeprefix("https://") for row in TABLE} | {"rest.iad-10.braze.com"}
URLISH = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, rest: f"{scheme}{host}{rest}",
        st.sampled_from(["https://", "http://", "HTTPS://", "", "//", "ftp://"]),
        st.one_of(
            st.sampled_from([*sorted(KNOWN_HOSTS), "dashboard-01.braze.com", "evil.example"]),
            st.text(max_size=30),
        ),
        st.sampled_from(["", "/", ":443", ":8080", "@evil.example", ".evil.example", "/x?y#z"]),
    ),
)


@given(URLISH)
def test_only_known_braze_hosts_pass_without_an_allow_list(url: str) -> None:
    try:
        base = check_braze_url(url, ())
    except InputError as exc:
        assert exc.field == "rest_endpoint"
        return
    parts = urlsplit(base)
    assert parts.scheme == "https" and parts.hostname in KNOWN_HOSTS
    assert base == f"https://{parts.hostname}"


@given(URLISH)
def test_with_an_allow_list_only_those_origins_are_added(url: str) -> None:
    allowed = ("http://127.0.0.1:8080",)
    try:
        base = check_braze_url(url, allowed)
    except InputError:
        return
    assert base == "http://127.0.0.1:8080" or urlsplit(base).hostname in KNOWN_HOSTS
