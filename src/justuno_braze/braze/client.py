"""The one Braze HTTP client and the ONE classifier of Braze responses.

``classify(response)`` decides what every Braze answer means (braze-api.md §2.5–§2.7):

2xx → :class:`TrackResult` (each ``errors`` entry its own :class:`MinorError`); 401/403 →
:class:`AuthError`; 429, 408, 5xx → :class:`TransientError` with ``retry_after`` from the
headers; 413 and other 4xx → :class:`PermanentError` with Braze's ``message`` (a 4xx listing
per-object ``errors`` → :class:`TrackRejected`, so the valid objects can be re-sent).

:class:`BrazeClient` only talks to a URL that passes ``check_braze_url``: Braze's REST hosts
or ``Settings.allowed_braze_urls`` (pass ``allowed_urls=``; the sandbox on loopback needs
it). The API key never appears in logs, reprs or exception messages.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import orjson

from justuno_braze import __version__
from justuno_braze.braze.instances import check_braze_url
from justuno_braze.braze.limits import RateInfo
from justuno_braze.errors import AuthError, DeliveryError, PermanentError, TransientError

USER_AGENT: Final = f"justuno-braze/{__version__}"
MAX_MESSAGE_CHARS: Final = 300
PERMISSIONS: Final = {
    "/users/track": "users.track",
    "/custom_attributes": "custom_attributes.get",
    "/users/export/ids": "users.export.ids",
}


@dataclass(frozen=True)
class MinorError:
    """One object Braze dropped: ``input_array[index]`` (``""``/``None`` when Braze did not
    say; the index counts within that array); ``type`` is Braze's text, never pattern-matched."""

    input_array: str
    index: int | None
    type: str


@dataclass(frozen=True)
class TrackResult:
    """A 2xx from Braze. ``processed`` maps ``attributes``/``events``/``purchases`` to counts."""

    status: int
    processed: dict[str, int] = field(default_factory=dict)
    minor_errors: list[MinorError] = field(default_factory=list)
    rate: RateInfo = field(default_factory=RateInfo)
    message: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        """Braze answered 202 ``queued`` (real-time processing paused; still accepted)."""
        return self.status == 202 or self.message == "queued"

    @property
    def unattributed_errors(self) -> list[MinorError]:
        """Minor errors that name no input object (the worker cannot pin them on a profile)."""
        return [e for e in self.minor_errors if e.index is None or not e.input_array]

    def errors_by_object(self) -> dict[tuple[str, int], list[MinorError]]:
        """``(input_array, index) → its errors``: join with the worker's index → job map."""
        out: dict[tuple[str, int], list[MinorError]] = {}
        for error in self.minor_errors:
            if error.index is not None and error.input_array:
                out.setdefault((error.input_array, error.index), []).append(error)
        return out


def minor_errors_for(result: TrackResult, array: str, index: int) -> list[MinorError]:
    """The minor errors Braze reported for the object at ``array[index]`` of the request."""
    return [e for e in result.minor_errors if e.input_array == array and e.index == index]


class TrackRejected(PermanentError):
    """A 4xx listing per-object ``errors`` (400 "Valid data must be provided…"): objects not
    named in ``minor_errors`` were valid and may be re-sent on their own."""

    def __init__(self, message: str, *, status: int, minor_errors: Sequence[MinorError]) -> None:
        self.minor_errors = list(minor_errors)
        super().__init__(message, status=status)


def _body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _braze_message(body: Any) -> str | None:
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            text = " ".join(message.split())
            return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"
    return None


def _minor_errors(body: Any) -> list[MinorError]:
    raw = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    out: list[MinorError] = []
    for entry in raw:
        if not isinstance(entry, dict):
            out.append(MinorError("", None, str(entry)))
            continue
        array, index = entry.get("input_array"), entry.get("index")
        kind = entry.get("type")
        kind = entry.get("message") if kind is None else kind
        array = array if isinstance(array, str) else ""
        index = index if isinstance(index, int) and not isinstance(index, bool) else None
        out.append(
            MinorError(array, index, orjson.dumps(entry).decode() if kind is None else str(kind))
        )
    return out


def _processed(body: Any) -> dict[str, int]:
    if not isinstance(body, dict):
        return {}
    return {
        key.removesuffix("_processed"): value
        for key, value in body.items()
        if key.endswith("_processed") and isinstance(value, int) and not isinstance(value, bool)
    }


def _endpoint(response: httpx.Response) -> tuple[str, str | None]:
    """``("POST /users/track", "users.track")``: what was called and the permission it needs."""
    try:
        method, path = response.request.method, response.request.url.path
    except RuntimeError:  # a Response built without a request
        return "Braze", None
    need = next((perm for end, perm in PERMISSIONS.items() if path.endswith(end)), None)
    return f"{method} {path}", need


def classify(response: httpx.Response, *, now: float | None = None) -> TrackResult:
    """THE classifier: a :class:`TrackResult` for a 2xx, else the matching error is raised."""
    now = time.time() if now is None else now
    status = response.status_code
    rate = RateInfo.from_headers(response.headers, now)
    body = _body(response)
    message = _braze_message(body)
    where, permission = _endpoint(response)
    said = f": {message}" if message else ""

    if 200 <= status < 300:
        notes: list[str] = []
        if message is not None and message not in ("success", "queued"):
            notes.append(f"Braze said {message!r} with HTTP {status}; treated as accepted")
        if not isinstance(body, dict):
            what = "not JSON" if response.content.strip() else "empty"
            what = "not a JSON object" if body is not None else what
            notes.append(f"the response body was {what}; treated as accepted")
        return TrackResult(
            status=status,
            processed=_processed(body),
            minor_errors=_minor_errors(body),
            rate=rate,
            message=message,
            notes=notes,
        )
    if status == 401:
        raise AuthError(
            f"{where}: Braze refused the API key (401){said}. Check the key, that it is not "
            "quoted, and that the REST endpoint is your instance's",
            status=status,
        )
    if status == 403:
        need = f"the `{permission}` permission" if permission else "this endpoint's permission"
        raise AuthError(
            f"{where}: Braze denied access (403){said}; the API key lacks {need}", status=status
        )
    if status == 429 or status == 408 or status >= 500:
        wait = rate.wait_seconds(now)
        if status == 429 and not wait and rate.reset_at is not None:
            wait = max(0.0, rate.reset_at - now)
        what = {429: "rate limited", 408: "request timeout"}.get(status, "server error")
        raise TransientError(
            f"{where}: Braze {what} ({status}){said}",
            status=status,
            retry_after=wait if (wait or rate.retry_after is not None) else None,
        )
    if status == 413:
        raise PermanentError(
            f"{where}: request too large (413): Braze accepts at most 4 MB per request",
            status=status,
        )
    if 400 <= status < 500:
        errors = _minor_errors(body)
        if errors:
            raise TrackRejected(
                f"{where}: Braze rejected the request ({status}){said} "
                f"({len(errors)} object error(s))",
                status=status,
                minor_errors=errors,
            )
        hint = " (check the REST endpoint URL)" if status == 404 else ""
        raise PermanentError(
            f"{where}: Braze rejected the request ({status}){said}{hint}", status=status
        )
    raise PermanentError(
        f"{where}: unexpected HTTP {status} (check the REST endpoint URL)", status=status
    )


_CONNECT_REASONS: Final = (
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "host name not found (DNS)"),
    (ssl.SSLError, "TLS handshake failed"),
)
_TIMEOUTS: Final = (
    (httpx.ConnectTimeout, "timed out connecting to Braze"),
    (httpx.PoolTimeout, "timed out waiting for a free connection"),
    (httpx.WriteTimeout, "timed out writing the request (the outcome is unknown)"),
    (httpx.TimeoutException, "timed out reading (the outcome is unknown: Braze may have it)"),
)


def _connect_reason(exc: BaseException) -> str:
    """Why a connection failed (refused, DNS, TLS), read from the exception chain."""
    cause: BaseException | None = exc
    for _ in range(10):  # bounded: a hand-made chain could loop
        for kind, reason in _CONNECT_REASONS:
            if isinstance(cause, kind):
                return reason
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
    text = str(exc) or "connection failed"
    return "connection refused" if "refused" in text.lower() else text


def _transport_error(exc: httpx.HTTPError, where: str) -> DeliveryError:
    for kind, what in _TIMEOUTS:
        if isinstance(exc, kind):
            return TransientError(f"{where}: {what}")
    if isinstance(exc, httpx.ConnectError):
        return TransientError(f"{where}: could not connect to Braze: {_connect_reason(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentError(f"{where}: unsupported URL scheme")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return TransientError(f"{where}: HTTP protocol error talking to Braze: {exc}")
    return TransientError(f"{where}: {type(exc).__name__} talking to Braze: {exc}")


_JSON_CONTENT: Final = {"Content-Type": "application/json"}


def _proxied() -> bool:
    """Whether the environment configures a proxy (httpx's client routes through it)."""
    return bool(urllib.request.getproxies())


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """httpx's certificate-verifying context, built once per process (loading the CA
    bundle costs tens of milliseconds per client otherwise)."""
    return httpx.create_ssl_context()


def _tls(base_url: str) -> ssl.SSLContext | bool:
    """TLS settings for a client of ``base_url``: verified TLS for https. A plain-http base
    URL (the sandbox on loopback) never does TLS — redirects are not followed and pages
    stay on the same origin — so it needs no CA bundle (``False``: nothing to load)."""
    return _verifying_context() if base_url.lower().startswith("https:") else False


# --- the direct connection pool ---------------------------------------------------------

# An idle connection older than this is closed rather than reused (as httpcore's default
# keep-alive expiry): servers and load balancers drop idle connections after a while.
KEEPALIVE_SECONDS: Final = 5.0


def preload_track_pool() -> None:
    """Import what ``/users/track`` calls need (aiohttp, ~0.1 s) now — for a process that
    waits for its first batch anyway — instead of with its first call."""
    import aiohttp  # noqa: F401


class _Pool:
    """Keep-alive connections to one origin over aiohttp (its C HTTP parser), at most
    ``max_connections`` at once.

    httpx's own pool (anyio streams, h11 events, a scan of every pooled connection) cost
    ~2.5 ms of CPU per ``/users/track`` call of 75 objects; aiohttp's ~0.5 ms. Answers come
    back as ``httpx.Response`` and failures as httpx's exception types, so the client
    classifies both exactly as it does for calls through an httpx transport. The session
    (and aiohttp itself, ~0.1 s to import) is made at the first call, on the caller's loop.
    """

    def __init__(
        self,
        origin: httpx.URL,
        headers: Mapping[str, str],
        *,
        tls: ssl.SSLContext | bool,
        timeout: float,
        connect_timeout: float,
        max_connections: int,
    ) -> None:
        self._origin = origin
        self._headers = dict(headers)
        self._tls = tls
        self._timeout, self._connect_timeout = timeout, connect_timeout
        self._max_connections = max_connections
        self._session: Any = None  # aiohttp.ClientSession, made by the first call

    def _open(self) -> Any:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self._max_connections, ssl=self._tls, keepalive_timeout=KEEPALIVE_SECONDS
            ),
            headers=self._headers,
            # httpx's timeouts are per operation; aiohttp's ``connect`` covers waiting for
            # a pooled connection too, ``sock_read`` each read of the answer
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=self._timeout,
                sock_connect=self._connect_timeout,
                sock_read=self._timeout,
            ),
            auto_decompress=True,
            trust_env=False,  # a proxied environment goes through httpx instead
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        return self._session

    async def send(self, method: str, url: str | httpx.URL, content: bytes) -> httpx.Response:
        import aiohttp

        session = self._session or self._open()
        target = self._origin.join(url)
        headers = _JSON_CONTENT if content else None
        try:
            async with session.request(
                method, str(target), data=content or None, headers=headers, allow_redirects=False
            ) as answer:
                body = await answer.read()
                raw_headers = list(answer.raw_headers)
                status = answer.status
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from exc
        except aiohttp.SocketTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading the response") from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the response") from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS
            raise httpx.ConnectError(str(exc.os_error) or str(exc)) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except aiohttp.ClientResponseError as exc:  # a malformed answer
            raise httpx.RemoteProtocolError(exc.message or type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        # the body is decoded already: drop the headers that describe its wire form
        headers_out = [
            (k, v)
            for k, v in raw_headers
            if k.lower() not in (b"content-encoding", b"content-length")
        ]
        return httpx.Response(
            status, headers=headers_out, content=body, request=httpx.Request(method, target)
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class BrazeClient:
    """Async client for Braze's REST API over keep-alive connections.

    Calls go through an ``httpx.AsyncClient`` (its ``transport`` when given: tests, the
    embedded sandbox, metered clients), except ``/users/track`` without a transport or a
    proxy, which goes over a :class:`_Pool` of aiohttp connections. ``clock`` (epoch
    seconds) stamps each result's :class:`RateInfo`: pass the worker's clock.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        allowed_urls: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_connections: int = 16,
        user_agent: str = USER_AGENT,
        max_pages: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = check_braze_url(base_url, allowed_urls)
        if not api_key or not api_key.strip():
            raise ValueError("a Braze REST API key is required")
        if "\r" in api_key or "\n" in api_key:  # it goes into a header line as is
            raise ValueError("a Braze REST API key cannot contain line breaks")
        self._api_key = api_key
        self.max_pages, self._clock = max_pages, clock
        self._origin = httpx.URL(self.base_url)
        headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        # /users/track carries the volume (a call per 75 delivered profiles): over aiohttp's
        # pool when no transport is given and no proxy is configured. The occasional calls
        # (custom attributes, exports, email status) stay on httpx: a one-off call, such
        # as an import's schema check, does not pay for importing aiohttp (~0.1 s).
        self._track_pool: _Pool | None = None
        if transport is None and not _proxied():
            self._track_pool = _Pool(
                self._origin,
                headers,
                tls=_tls(self.base_url),
                timeout=timeout,
                connect_timeout=connect_timeout,
                max_connections=max_connections,
            )
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=timeout),
            limits=limits,
            headers=headers,
            follow_redirects=False,
            verify=_tls(self.base_url),
        )

    def __repr__(self) -> str:
        return f"BrazeClient({self.base_url!r}, api_key='****')"

    async def __aenter__(self) -> BrazeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._track_pool is not None:
            await self._track_pool.aclose()
        await self._http.aclose()

    def _scrub(self, error: DeliveryError) -> DeliveryError:
        """Never let the key out in a message, whatever a server or httpx echoed."""
        if self._api_key in str(error):
            error.args = (str(error).replace(self._api_key, "****"),)
        return error

    async def _send(
        self, method: str, url: str | httpx.URL, content: bytes = b"", *, pool: _Pool | None = None
    ) -> httpx.Response:
        try:
            if pool is not None:
                return await pool.send(method, url, content)
            headers = _JSON_CONTENT if content else None
            return await self._http.request(method, url, content=content or None, headers=headers)
        except httpx.HTTPError as exc:
            where = f"{method} {httpx.URL(str(url)).path or url}"
            raise self._scrub(_transport_error(exc, where)) from None

    @staticmethod
    def _encode(body: Mapping[str, Any], path: str) -> bytes:
        try:
            return orjson.dumps(body if isinstance(body, dict) else dict(body))
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise PermanentError(f"POST {path}: the request body is not JSON: {exc}") from None

    def _classify(self, response: httpx.Response) -> TrackResult:
        try:
            return classify(response, now=self._clock())
        except DeliveryError as exc:
            raise self._scrub(exc) from None

    async def track(self, body: Mapping[str, Any]) -> TrackResult:
        """``POST /users/track``; a :class:`TrackResult` or a classified error."""
        response = await self._send(
            "POST", "/users/track", self._encode(body, "/users/track"), pool=self._track_pool
        )
        return self._classify(response)

    async def export_ids(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /users/export/ids``: the parsed response (``users``, ``invalid_user_ids``)."""
        response = await self._send(
            "POST", "/users/export/ids", self._encode(body, "/users/export/ids")
        )
        self._classify(response)
        return self._json_object(response)

    async def custom_attributes(self) -> list[dict[str, Any]]:
        """Every custom attribute of the workspace (``GET /custom_attributes``, all pages).

        Follows ``Link: <…>; rel="next"`` (relative or absolute) only to the same origin,
        refuses a cursor it has already seen and stops with an error after ``max_pages``.
        """
        url, origin = self._origin.join("/custom_attributes"), self._origin
        seen: set[str] = set()
        cursors: set[str] = set()
        out: list[dict[str, Any]] = []
        for _page in range(self.max_pages):
            seen.add(str(url))
            cursors.update(url.params.get_list("cursor"))
            response = await self._send("GET", url)
            self._classify(response)
            attributes = self._json_object(response).get("attributes")
            if not isinstance(attributes, list):
                raise TransientError(
                    "GET /custom_attributes: the response has no `attributes` list",
                    status=response.status_code,
                )
            out.extend(a for a in attributes if isinstance(a, dict))
            link = response.links.get("next", {}).get("url")
            if not link:
                return out
            url = response.url.join(link)
            if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
                raise PermanentError(
                    "GET /custom_attributes: refusing to follow a pagination link to another "
                    f"origin ({url.scheme}://{url.host})"
                )
            if str(url) in seen or any(c in cursors for c in url.params.get_list("cursor")):
                raise PermanentError(
                    "GET /custom_attributes: Braze repeated a page cursor; stopped to avoid a loop"
                )
        raise PermanentError(f"GET /custom_attributes: more than {self.max_pages} pages; stopped")

    @staticmethod
    def _json_object(response: httpx.Response) -> dict[str, Any]:
        body = _body(response)
        if not isinstance(body, dict):
            raise TransientError(
                f"{_endpoint(response)[0]}: Braze answered {response.status_code} with a body "
                "that is not a JSON object",
                status=response.status_code,
            )
        return body
