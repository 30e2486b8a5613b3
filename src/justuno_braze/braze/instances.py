"""Braze instances (REST host table) and the guard on the REST endpoint a user types.

No request may go to an arbitrary host: :func:`check_braze_url` accepts only
``https://rest.<cluster>.braze.com`` / ``.braze.eu`` hosts of a known instance
(braze-api.md §1.2), or a base URL the operator listed in ``JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS``
(matched on scheme + host + port exactly: a sandbox or a proxy). Anything else raises
:class:`InputError` (``field="rest_endpoint"``) saying what is wrong and, when it can tell,
which URL was meant (a dashboard URL, an SDK endpoint, a typo).

Legacy US-10 host: older Braze docs sent US-10 to ``rest.iad-10.braze.com`` (dashboard
``dashboard-10.braze.com``); newer ones use ``rest.us-10.braze.com``. We accept the old host
as given (it is Braze's own domain, so nothing leaves Braze) and map it to US-10; the
picker and every suggestion use the current host.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from justuno_braze.errors import InputError

FIELD = "rest_endpoint"
EXAMPLE = "https://rest.iad-01.braze.com"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Instance:
    """One Braze instance: its code (``US-01``), REST base URL and dashboard URL."""

    code: str
    rest_url: str
    dashboard_url: str
    sdk_endpoint: str
    legacy_rest_hosts: tuple[str, ...] = ()
    legacy_dashboard_hosts: tuple[str, ...] = ()

    @property
    def rest_host(self) -> str:
        return self.rest_url.removeprefix("https://")

    @property
    def dashboard_host(self) -> str:
        return self.dashboard_url.removeprefix("https://")


def _us(n: int) -> Instance:
    return Instance(
        f"US-{n:02d}",
        f"https://rest.iad-{n:02d}.braze.com",
        f"https://dashboard-{n:02d}.braze.com",
        f"sdk.iad-{n:02d}.braze.com",
        legacy_dashboard_hosts=("dashboard.braze.com",) if n == 1 else (),
    )


def _cluster(code: str, cluster: str) -> Instance:
    return Instance(
        code,
        f"https://rest.{cluster}.braze.com",
        f"https://dashboard.{cluster}.braze.com",
        f"sdk.{cluster}.braze.com",
        legacy_rest_hosts=("rest.iad-10.braze.com",) if cluster == "us-10" else (),
        legacy_dashboard_hosts=("dashboard-10.braze.com",) if cluster == "us-10" else (),
    )


INSTANCES: tuple[Instance, ...] = (
    *(_us(n) for n in range(1, 9)),
    _cluster("US-10", "us-10"),
    Instance(
        "EU-01",
        "https://rest.fra-01.braze.eu",
        "https://dashboard-01.braze.eu",
        "sdk.fra-01.braze.eu",
        legacy_dashboard_hosts=("dashboard.braze.eu",),
    ),
    Instance(
        "EU-02",
        "https://rest.fra-02.braze.eu",
        "https://dashboard-02.braze.eu",
        "sdk.fra-02.braze.eu",
    ),
    _cluster("AU-01", "au-01"),
    _cluster("ID-01", "id-01"),
    _cluster("JP-01", "jp-01"),
    _cluster("KR-01", "kr-01"),
)
"""Every Braze instance, in the order Braze lists them (braze-api.md §1.2)."""

_BY_REST_HOST = {
    host: inst for inst in INSTANCES for host in (inst.rest_host, *inst.legacy_rest_hosts)
}
_BY_DASHBOARD_HOST = {
    host: inst for inst in INSTANCES for host in (inst.dashboard_host, *inst.legacy_dashboard_hosts)
}
_BY_SDK_HOST = {inst.sdk_endpoint: inst for inst in INSTANCES}
_REST_PATTERN = re.compile(r"rest\.[a-z0-9-]+\.braze\.(?:com|eu)")
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")


def instance_choices() -> list[dict[str, str]]:
    """The instances for a UI picker: ``code``, ``rest_url``, ``dashboard_url``, ``label``."""
    return [
        {
            "code": inst.code,
            "rest_url": inst.rest_url,
            "dashboard_url": inst.dashboard_url,
            "label": f"{inst.code} — {inst.rest_host}",
        }
        for inst in INSTANCES
    ]


def instance_for(url: str) -> Instance | None:
    """The Braze instance whose REST host ``url`` names (scheme and path ignored), or None."""
    text = url.strip()
    if "//" not in text:
        text = "https://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return _BY_REST_HOST.get((host or "").rstrip("."))


def _origin(url: str, *, what: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL without userinfo, or an InputError."""
    if not _URL_CHARS.fullmatch(url):
        raise InputError(f"{what} contains spaces or characters a URL cannot have", field=FIELD)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InputError(f"{what} is not a valid URL (bad host or port)", field=FIELD) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InputError(f"{what} must start with https:// (e.g. {EXAMPLE})", field=FIELD)
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{what} must not contain a user name or password", field=FIELD)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InputError(f"{what} has no host name (e.g. {EXAMPLE})", field=FIELD)
    return scheme, host, DEFAULT_PORTS[scheme] if port is None else port


def _base(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port == DEFAULT_PORTS[scheme] else f"{scheme}://{shown}:{port}"


def _not_rest(reason: str) -> InputError:
    return InputError(reason, field=FIELD)


def check_braze_url(url: str, allowed: Sequence[str] = ()) -> str:
    """The normalised REST base URL (``https://rest.iad-01.braze.com``) or an InputError.

    Lower-cases the host, drops a trailing slash, path, query and fragment. Braze hosts
    must be https on the default port and belong to a known instance; any other host must
    equal (scheme, host, port) one of ``allowed`` (``Settings.allowed_braze_urls``).
    """
    if not isinstance(url, str) or not url.strip():
        raise _not_rest(f"a REST endpoint URL is required (e.g. {EXAMPLE})")
    text = url.strip()
    if "://" not in text and _URL_CHARS.fullmatch(text):
        bare = text.split("/", 1)[0].lower().rstrip(".")
        if bare in _BY_REST_HOST:  # "rest.iad-01.braze.com" pasted without the scheme
            return "https://" + bare
        raise _not_rest(
            f"the REST endpoint must be a full URL starting with https:// (e.g. {EXAMPLE})"
        )
    scheme, host, port = _origin(text, what="the REST endpoint")

    for entry in allowed:
        try:
            if _origin(entry.strip(), what="an allowed Braze URL") == (scheme, host, port):
                return _base(scheme, host, port)
        except InputError:
            continue  # Settings.validate reports bad entries; an unusable one matches nothing

    instance = _BY_REST_HOST.get(host)
    if instance is not None:
        if scheme != "https":
            raise _not_rest(f"Braze REST endpoints use https: use https://{host}")
        if port != 443:
            raise _not_rest(f"Braze REST endpoints use the default https port: use https://{host}")
        return "https://" + host
    if _REST_PATTERN.fullmatch(host):
        raise _not_rest(
            f"unknown Braze instance {host}"
            + (
                _suggest(host)
                or "; copy the REST endpoint shown under Settings › APIs and Identifiers"
            )
        )
    dashboard = _BY_DASHBOARD_HOST.get(host)
    if dashboard is not None:
        raise _not_rest(
            f"that is the dashboard URL, not the REST endpoint — did you mean {dashboard.rest_url}?"
        )
    if host.startswith("dashboard") and host.endswith((".braze.com", ".braze.eu")):
        raise _not_rest(
            "that is a dashboard URL, not the REST endpoint: use the REST endpoint shown "
            f"under Settings › APIs and Identifiers, e.g. {EXAMPLE}"
        )
    sdk = _BY_SDK_HOST.get(host)
    if sdk is not None or (host.startswith("sdk.") and host.endswith((".braze.com", ".braze.eu"))):
        hint = f"; use {sdk.rest_url}" if sdk is not None else ""
        raise _not_rest(f"the SDK endpoint cannot be used for REST calls{hint}")
    extra = (
        ""
        if host.endswith((".braze.com", ".braze.eu"))
        else " (to use another host such as a sandbox or proxy, the server operator must "
        "list it in JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS)"
    )
    raise _not_rest(
        "not a Braze REST endpoint: use the REST endpoint shown under Settings › APIs and "
        f"Identifiers, e.g. {EXAMPLE}{_suggest(host) or extra}"
    )


def _suggest(host: str) -> str:
    """`` — did you mean https://…?`` for a near miss of a known REST host, else ``""``."""
    if host.startswith("rest.") and host.endswith((".braze.com", ".braze.eu")):
        # right shape, wrong domain for the cluster (fra-01 on .com, iad-01 on .eu)
        # or a mistyped cluster number (iad-1, iad01 → iad-01).
        cluster = host.split(".")[1]
        typo = re.fullmatch(r"([a-z]+)-?0*(\d{1,2})", cluster)
        if typo:
            cluster = f"{typo.group(1)}-{int(typo.group(2)):02d}"
        for inst in INSTANCES:
            if inst.rest_host.split(".")[1] == cluster:
                return f" — did you mean {inst.rest_url}?"
    if _REST_PATTERN.fullmatch(host):
        return ""  # a well-formed unknown cluster: any guess would be arbitrary
    close = difflib.get_close_matches(host, list(_BY_REST_HOST), n=1, cutoff=0.85)
    if not close:
        return ""
    inst = _BY_REST_HOST[close[0]]
    return f" — did you mean {inst.rest_url}?"
