"""The Braze client and its one classifier: every branch through ``httpx.MockTransport``,
plus a real refused connection on loopback and (when it exists) the real sandbox."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest

from justuno_braze.braze.client import (
    BrazeClient,
    MinorError,
    TrackRejected,
    TrackResult,
    classify,
    minor_errors_for,
)
from justuno_braze.errors import (
    AuthError,
    InputError,
    PermanentError,
    TransientError,
)

BASE = "https://rest.iad-01.braze.com"
KEY = "k3y-7f0e2d9c-secret-abcdef"
NOW = 1_767_225_600.0
Handler = Callable[[httpx.Request], httpx.Response]


class Braze:
    """A scripted Braze: records every request, answers with the next response."""

    def __init__(self, *responses: httpx.Response | Handler | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def client(self, base: str = BASE, **kwargs: Any) -> BrazeClient:
        return BrazeClient(base, KEY, transport=httpx.MockTransport(self), **kwargs)


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else b"" if body is None else orjson.dumps(body)
    return httpx.Response(status, content=content, headers=headers or {})


def response_for(
    status: int, body: Any = None, headers: dict[str, str] | None = None, path: str = "/users/track"
) -> httpx.Response:
    """A response as classify() sees it: tied to the request that produced it."""
    response = reply(status, body, headers)
    response.request = httpx.Request("POST", BASE + path)
    return response


TRACK_BODY = {
    "attributes": [
        {"email": "ana@example.com", "first_name": "Ana"},
        {"email": "not-an-email", "first_name": "Bo"},
        {"email": "cy@example.com", "first_name": "Cy"},
    ],
    "events": [
        {"email": "ana@example.com", "name": "lead_captured", "time": "2026-01-01T00:00:00Z"}
    ],
}


# --- track: success and partial success ------------------------------------------------


async def test_track_sends_an_authorised_json_post_and_reads_the_counts() -> None:
    braze = Braze(
        reply(
            201,
            {"message": "success", "attributes_processed": 3, "events_processed": 1},
            {
                "x-ratelimit-limit": "3000",
                "x-ratelimit-remaining": "2999",
                "x-ratelimit-reset": "3",
            },
        )
    )
    async with braze.client() as client:
        result = await client.track(TRACK_BODY)
    [request] = braze.requests
    assert (request.method, str(request.url)) == ("POST", BASE + "/users/track")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("justuno-braze/")
    assert orjson.loads(request.content) == TRACK_BODY
    assert result.status == 201
    assert result.processed == {"attributes": 3, "events": 1}
    assert result.minor_errors == []
    assert (result.rate.limit, result.rate.remaining) == (3000, 2999)
    assert result.rate.reset_at is not None
    assert result.rate.reset_at == pytest.approx(result.rate.observed_at + 3)
    assert not result.queued


def test_minor_errors_map_back_to_each_input_object() -> None:
    body = {
        "message": "success",
        "attributes_processed": 1,
        "events_processed": 0,
        "errors": [
            {"type": "'email' is not valid", "input_array": "attributes", "index": 1},
            {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 1},
            {"type": "'time' is required", "input_array": "events", "index": 0},
            {"type": "something odd", "input_array": "attributes"},
            "a bare string",
        ],
    }
    result = classify(response_for(201, body), now=NOW)
    assert result.processed == {"attributes": 1, "events": 0}
    assert minor_errors_for(result, "attributes", 1) == [
        MinorError("attributes", 1, "'email' is not valid"),
        MinorError("attributes", 1, "EMAIL_BAD_FORMAT"),
    ]
    assert minor_errors_for(result, "attributes", 0) == []
    assert minor_errors_for(result, "events", 0) == [MinorError("events", 0, "'time' is required")]
    assert result.errors_by_object() == {
        ("attributes", 1): [
            MinorError("attributes", 1, "'email' is not valid"),
            MinorError("attributes", 1, "EMAIL_BAD_FORMAT"),
        ],
        ("events", 0): [MinorError("events", 0, "'time' is required")],
    }
    assert result.unattributed_errors == [
        MinorError("attributes", None, "something odd"),
        MinorError("", None, "a bare string"),
    ]
    # Each object's list is its own: growing one leaves the others alone (peers.md §4.1).
    grouped = result.errors_by_object()
    grouped[("events", 0)].append(MinorError("events", 0, "x"))
    assert result.errors_by_object()[("attributes", 1)] == minor_errors_for(result, "attributes", 1)
    assert len(result.errors_by_object()[("events", 0)]) == 1


def test_results_never_share_mutable_state() -> None:
    a = classify(response_for(201, {"message": "success"}), now=NOW)
    b = classify(response_for(201, {"message": "success"}), now=NOW)
    a.minor_errors.append(MinorError("attributes", 0, "x"))
    a.processed["attributes"] = 9
    a.notes.append("x")
    assert (b.minor_errors, b.processed, b.notes) == ([], {}, [])
    assert TrackResult(201).minor_errors is not TrackResult(201).minor_errors


def test_202_queued_is_accepted() -> None:
    result = classify(response_for(202, {"message": "queued"}), now=NOW)
    assert result.status == 202 and result.queued and result.message == "queued"
    assert result.minor_errors == []


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (b"<html>OK</html>", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"", "empty"),
        (b"\xff\xfe garbage", "not JSON"),
    ],
)
def test_garbage_2xx_bodies_are_still_a_success_with_a_note(content: bytes, note: str) -> None:
    result = classify(response_for(200, content), now=NOW)
    assert result.status == 200
    assert result.processed == {} and result.minor_errors == []
    assert len(result.notes) == 1 and note in result.notes[0]


def test_lenient_counts_and_error_fields() -> None:
    body = {
        "message": "success",
        "attributes_processed": "2",  # not a number: ignored
        "events_processed": True,  # a bool is not a count
        "purchases_processed": 4,
        "errors": [{"input_array": 7, "index": "1", "message": "from message"}, {"index": 0}],
    }
    result = classify(response_for(201, body), now=NOW)
    assert result.processed == {"purchases": 4}
    assert result.minor_errors == [
        MinorError("", None, "from message"),
        MinorError("", 0, '{"index":0}'),
    ]


# --- auth, transient, permanent -------------------------------------------------------


def test_401_is_an_auth_error_with_brazes_message() -> None:
    with pytest.raises(AuthError) as info:
        classify(response_for(401, {"message": "Invalid API Key"}), now=NOW)
    assert info.value.status == 401
    assert "Invalid API Key" in str(info.value)
    assert "POST /users/track" in str(info.value)


def test_403_names_the_missing_permission() -> None:
    with pytest.raises(AuthError) as info:
        classify(response_for(403, {"message": "Access Denied"}), now=NOW)
    assert info.value.status == 403
    assert "Access Denied" in str(info.value) and "`users.track`" in str(info.value)
    with pytest.raises(AuthError) as info:
        classify(response_for(403, b"", path="/custom_attributes"), now=NOW)
    assert "lacks the `custom_attributes.get` permission" in str(info.value)


def test_429_with_x_ratelimit_retry_after() -> None:
    with pytest.raises(TransientError) as info:
        classify(
            response_for(429, {"message": "rate limited"}, {"x-ratelimit-retry-after": "12"}),
            now=NOW,
        )
    assert (info.value.status, info.value.retry_after) == (429, 12.0)


def test_429_with_epoch_reset() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 40)}
    with pytest.raises(TransientError) as info:
        classify(response_for(429, None, headers), now=NOW)
    assert info.value.retry_after == 40.0


def test_429_with_delta_reset() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}
    with pytest.raises(TransientError) as info:
        classify(response_for(429, None, headers), now=NOW)
    assert info.value.retry_after == 2.0


def test_429_with_retry_after_http_date() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 90, tz=UTC), usegmt=True)
    with pytest.raises(TransientError) as info:
        classify(response_for(429, None, {"retry-after": when}), now=NOW)
    assert info.value.retry_after == 90.0


def test_429_without_any_header_leaves_the_wait_to_backoff() -> None:
    with pytest.raises(TransientError) as info:
        classify(response_for(429, b"Too Many Requests"), now=NOW)
    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_and_408_are_transient(status: int) -> None:
    with pytest.raises(TransientError) as info:
        classify(response_for(status, b"<html>Bad Gateway</html>"), now=NOW)
    assert info.value.status == status and info.value.retry_after is None


def test_503_with_retry_after() -> None:
    with pytest.raises(TransientError) as info:
        classify(response_for(503, None, {"Retry-After": "5"}), now=NOW)
    assert info.value.retry_after == 5.0


def test_413_is_permanent() -> None:
    with pytest.raises(PermanentError) as info:
        classify(response_for(413, b"<html>Request Entity Too Large</html>"), now=NOW)
    assert info.value.status == 413 and "request too large" in str(info.value)


def test_400_all_objects_invalid_carries_each_object_error() -> None:
    body = {
        "message": (
            "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
        ),
        "errors": [
            {"type": "'email' is not valid", "input_array": "attributes", "index": 0},
            {"type": "'name' is required", "input_array": "events", "index": 0},
        ],
    }
    with pytest.raises(TrackRejected) as info:
        classify(response_for(400, body), now=NOW)
    assert isinstance(info.value, PermanentError) and info.value.status == 400
    assert "Valid data must be provided" in str(info.value)
    assert info.value.minor_errors == [
        MinorError("attributes", 0, "'email' is not valid"),
        MinorError("events", 0, "'name' is required"),
    ]


def test_other_4xx_are_permanent_with_brazes_message() -> None:
    with pytest.raises(PermanentError) as info:
        classify(response_for(400, {"message": "Max Input Length Exceeded"}), now=NOW)
    assert not isinstance(info.value, TrackRejected)
    assert info.value.status == 400 and "Max Input Length Exceeded" in str(info.value)
    with pytest.raises(PermanentError) as info:
        classify(response_for(404, b"Not Found"), now=NOW)
    assert "check the REST endpoint URL" in str(info.value)


def test_a_long_braze_message_is_cut() -> None:
    with pytest.raises(PermanentError) as info:
        classify(response_for(422, {"message": "x" * 5000}), now=NOW)
    assert len(str(info.value)) < 400


async def test_redirects_are_not_followed() -> None:
    braze = Braze(reply(302, None, {"location": "https://evil.example/users/track"}))
    async with braze.client() as client:
        with pytest.raises(PermanentError) as info:
            await client.track(TRACK_BODY)
    assert "unexpected HTTP 302" in str(info.value)
    assert [r.url.host for r in braze.requests] == ["rest.iad-01.braze.com"]


# --- transport failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out reading (the outcome is unknown"),
        (httpx.WriteTimeout("write timed out"), "timed out writing the request"),
        (httpx.ConnectTimeout("connect timed out"), "timed out connecting"),
        (httpx.PoolTimeout("pool"), "waiting for a free connection"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.RemoteProtocolError("Server disconnected"), "protocol error"),
        (httpx.ReadError("reset by peer"), "ReadError"),
    ],
)
async def test_transport_failures_are_transient_and_say_which(exc: Exception, words: str) -> None:
    braze = Braze(exc)
    async with braze.client() as client:
        with pytest.raises(TransientError) as info:
            await client.track(TRACK_BODY)
    assert info.value.status is None and info.value.retry_after is None
    assert words in str(info.value)
    assert str(info.value).startswith("POST /users/track: ")


def chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            chained(
                httpx.ConnectError("All connection attempts failed"),
                ConnectionRefusedError(111, "x"),
            ),
            "could not connect to Braze: connection refused",
        ),
        (
            chained(
                httpx.ConnectError("[Errno -2] Name or service not known"), socket.gaierror(-2, "x")
            ),
            "could not connect to Braze: host name not found (DNS)",
        ),
    ],
)
async def test_connect_failures_name_the_cause(exc: Exception, words: str) -> None:
    braze = Braze(exc)
    async with braze.client() as client:
        with pytest.raises(TransientError) as info:
            await client.track(TRACK_BODY)
    assert str(info.value) == f"POST /users/track: {words}"


@pytest.fixture
def closed_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    yield port


async def test_a_real_refused_connection_on_loopback(closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}"
    async with BrazeClient(base, KEY, allowed_urls=[base], connect_timeout=2.0) as client:
        with pytest.raises(TransientError) as info:
            await client.track(TRACK_BODY)
    assert "could not connect to Braze" in str(info.value)
    assert "refused" in str(info.value).lower()


# --- secrets and the URL guard --------------------------------------------------------


async def test_the_key_never_appears_in_errors_or_reprs() -> None:
    echo = Braze(
        reply(400, {"message": f"bad key {KEY} in body"}), httpx.ConnectError(f"oops {KEY}")
    )
    async with echo.client() as client:
        assert KEY not in repr(client)
        with pytest.raises(PermanentError) as info:
            await client.track(TRACK_BODY)
        assert KEY not in str(info.value) and "****" in str(info.value)
        with pytest.raises(TransientError) as info2:
            await client.track(TRACK_BODY)
        assert KEY not in str(info2.value)


@pytest.mark.parametrize(
    "url", ["https://evil.example", "http://127.0.0.1:9", "https://dashboard-01.braze.com"]
)
def test_the_client_refuses_hosts_that_fail_the_guard(url: str) -> None:
    with pytest.raises(InputError) as info:
        BrazeClient(url, KEY, transport=httpx.MockTransport(Braze(reply(201))))
    assert info.value.field == "rest_endpoint"


def test_the_client_needs_a_key() -> None:
    with pytest.raises(ValueError, match="API key is required"):
        BrazeClient(BASE, "  ")


async def test_an_allowed_url_is_used_normalised() -> None:
    braze = Braze(reply(201, {"message": "success"}))
    client = braze.client(
        "HTTP://Braze-Proxy.internal:8080/", allowed_urls=["http://braze-proxy.internal:8080"]
    )
    assert client.base_url == "http://braze-proxy.internal:8080"
    await client.track({"attributes": []})
    await client.aclose()
    assert str(braze.requests[0].url) == "http://braze-proxy.internal:8080/users/track"


# --- custom attributes ----------------------------------------------------------------


def page(names: list[str], link: str | None = None) -> httpx.Response:
    headers = {"link": link} if link else {}
    return reply(
        200,
        {
            "message": "success",
            "attributes": [{"name": n, "data_type": "String", "array_length": None} for n in names],
        },
        headers,
    )


async def test_custom_attributes_follow_relative_and_absolute_next_links() -> None:
    braze = Braze(
        page(["a", "b"], '</custom_attributes?cursor=c2tpcDoy>; rel="next"'),
        page(
            ["c", "d"],
            '</custom_attributes?cursor=c2tpcDow>; rel="prev", '
            f'<{BASE}/custom_attributes?cursor=c2tpcDo0>; rel="next"',
        ),
        page(["e"], '</custom_attributes?cursor=c2tpcDoy>; rel="prev"'),
    )
    async with braze.client() as client:
        attributes = await client.custom_attributes()
    assert [a["name"] for a in attributes] == ["a", "b", "c", "d", "e"]
    assert [str(r.url) for r in braze.requests] == [
        f"{BASE}/custom_attributes",
        f"{BASE}/custom_attributes?cursor=c2tpcDoy",
        f"{BASE}/custom_attributes?cursor=c2tpcDo0",
    ]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in braze.requests)


async def test_custom_attributes_single_page_without_link() -> None:
    braze = Braze(page(["only"]))
    async with braze.client() as client:
        assert [a["name"] for a in await client.custom_attributes()] == ["only"]
    assert len(braze.requests) == 1


async def test_custom_attributes_refuse_a_repeated_cursor() -> None:
    braze = Braze(
        page(["a"], '</custom_attributes?cursor=one>; rel="next"'),
        page(["b"], '</custom_attributes?cursor=two>; rel="next"'),
        page(["c"], '</custom_attributes?cursor=one>; rel="next"'),
    )
    async with braze.client() as client:
        with pytest.raises(PermanentError, match="repeated a page cursor"):
            await client.custom_attributes()
    assert len(braze.requests) == 3


async def test_custom_attributes_refuse_a_foreign_origin_link() -> None:
    braze = Braze(
        page(["a"], '<https://evil.example/custom_attributes?cursor=x>; rel="next"'),
        page(["stolen"]),
    )
    async with braze.client() as client:
        with pytest.raises(PermanentError, match=r"another origin \(https://evil.example\)"):
            await client.custom_attributes()
    assert [r.url.host for r in braze.requests] == ["rest.iad-01.braze.com"]


async def test_custom_attributes_refuse_a_downgrade_to_http() -> None:
    braze = Braze(
        page(["a"], '<http://rest.iad-01.braze.com/custom_attributes?cursor=x>; rel="next"')
    )
    async with braze.client() as client:
        with pytest.raises(PermanentError, match="another origin"):
            await client.custom_attributes()
    assert len(braze.requests) == 1


async def test_custom_attributes_stop_at_the_page_cap() -> None:
    counter = iter(range(1000))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return page([f"a{n}"], f'</custom_attributes?cursor={n + 1}>; rel="next"')

    braze = Braze(endless)
    async with braze.client(max_pages=5) as client:
        with pytest.raises(PermanentError, match="more than 5 pages"):
            await client.custom_attributes()
    assert len(braze.requests) == 5


async def test_custom_attributes_403_says_which_permission() -> None:
    braze = Braze(reply(403, {"message": "Access Denied"}))
    async with braze.client() as client:
        with pytest.raises(AuthError) as info:
            await client.custom_attributes()
    assert info.value.status == 403
    assert "`custom_attributes.get`" in str(info.value)


async def test_custom_attributes_errors_classify_like_track() -> None:
    braze = Braze(reply(429, None, {"x-ratelimit-retry-after": "30"}))
    async with braze.client() as client:
        with pytest.raises(TransientError) as info:
            await client.custom_attributes()
    assert info.value.retry_after == 30.0


async def test_custom_attributes_bad_body_is_transient() -> None:
    braze = Braze(reply(200, {"message": "success"}))
    async with braze.client() as client:
        with pytest.raises(TransientError, match="no `attributes` list"):
            await client.custom_attributes()


async def test_export_ids_returns_the_parsed_body() -> None:
    braze = Braze(reply(201, {"message": "success", "users": [{"email": "ana@example.com"}]}))
    async with braze.client() as client:
        out = await client.export_ids({"email_address": "ana@example.com"})
    assert out["users"] == [{"email": "ana@example.com"}]
    assert braze.requests[0].url.path == "/users/export/ids"


async def test_custom_attributes_refuse_a_cursor_seen_before_in_another_url() -> None:
    braze = Braze(
        page(["a"], '</custom_attributes?cursor=one>; rel="next"'),
        page(["b"], '</custom_attributes?cursor=one&x=1>; rel="next"'),
    )
    async with braze.client() as client:
        with pytest.raises(PermanentError, match="repeated a page cursor"):
            await client.custom_attributes()
    assert len(braze.requests) == 2


async def test_a_body_that_is_not_json_is_refused_before_sending() -> None:
    braze = Braze(reply(201))
    async with braze.client() as client:
        with pytest.raises(PermanentError, match="the request body is not JSON"):
            await client.track({"attributes": [{"email": "a@example.com", "x": {1, 2}}]})
    assert braze.requests == []


def test_an_unexpected_2xx_message_is_noted() -> None:
    result = classify(response_for(200, {"message": "partially ok"}), now=NOW)
    assert result.message == "partially ok"
    assert result.notes == ["Braze said 'partially ok' with HTTP 200; treated as accepted"]


# --- against the real sandbox over loopback -------------------------------------------

SANDBOX_KEY = "sandbox-key"
TRACK_ONLY_KEY = "track-only-key"


@pytest.fixture
def sandbox() -> Iterator[str]:
    from justuno_braze.sandbox.options import SandboxOptions
    from justuno_braze.sandbox.server import running_sandbox

    options = SandboxOptions(
        api_keys={SANDBOX_KEY: None, TRACK_ONLY_KEY: frozenset({"users.track"})},
        custom_attributes=tuple(
            {"name": f"attr_{n:03d}", "data_type": "String"} for n in range(120)
        ),
    )
    with running_sandbox(options) as url:
        yield url


def sandbox_client(url: str, key: str = SANDBOX_KEY) -> BrazeClient:
    return BrazeClient(url, key, allowed_urls=[url], timeout=10.0)


async def test_sandbox_track_201_is_stored(sandbox: str) -> None:
    async with sandbox_client(sandbox) as client:
        result = await client.track(
            {
                "attributes": [
                    {"email": "ana@example.com", "first_name": "Ana", "lead_score": 7},
                    {"first_name": "nobody"},  # no identifier: a minor error
                ],
                "events": [
                    {
                        "email": "ana@example.com",
                        "name": "lead_captured",
                        "time": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        )
        exported = await client.export_ids(
            {
                "email_address": "ana@example.com",
                "fields_to_export": ["first_name", "custom_attributes"],
            }
        )
    assert result.status == 201
    assert result.processed == {"attributes": 1, "events": 1}
    assert [(e.input_array, e.index) for e in result.minor_errors] == [("attributes", 1)]
    assert minor_errors_for(result, "attributes", 0) == []
    assert result.rate.limit is not None and result.rate.remaining is not None
    assert result.rate.reset_at is not None and result.rate.reset_at > result.rate.observed_at - 1
    [user] = exported["users"]
    assert user["first_name"] == "Ana"
    assert user["custom_attributes"]["lead_score"] == 7


async def test_sandbox_401_for_a_bad_key(sandbox: str) -> None:
    async with sandbox_client(sandbox, key="wrong-key-123456") as client:
        with pytest.raises(AuthError) as info:
            await client.track({"attributes": [{"email": "a@example.com", "x": 1}]})
    assert info.value.status == 401
    assert "Invalid API Key" in str(info.value)
    assert "wrong-key-123456" not in str(info.value)


async def test_sandbox_403_for_a_key_without_custom_attributes_get(sandbox: str) -> None:
    async with sandbox_client(sandbox, key=TRACK_ONLY_KEY) as client:
        result = await client.track({"attributes": [{"email": "b@example.com", "x": 1}]})
        assert result.status == 201
        with pytest.raises(AuthError) as info:
            await client.custom_attributes()
    assert info.value.status == 403
    assert "lacks the `custom_attributes.get` permission" in str(info.value)


async def test_sandbox_custom_attributes_over_three_pages(sandbox: str) -> None:
    async with sandbox_client(sandbox) as client:
        attributes = await client.custom_attributes()
    names = [a["name"] for a in attributes]
    assert names == [f"attr_{n:03d}" for n in range(120)]
    assert all(a["data_type"] == "String" for a in attributes)


async def test_sandbox_429_carries_the_wait() -> None:
    from justuno_braze.sandbox.options import SandboxOptions
    from justuno_braze.sandbox.server import running_sandbox

    with running_sandbox(SandboxOptions(track_rate=(2, 60.0))) as url:
        async with sandbox_client(url) as client:
            body = {"attributes": [{"email": "c@example.com", "x": 1}]}
            first = await client.track(body)
            await client.track(body)
            with pytest.raises(TransientError) as info:
                await client.track(body)
    assert first.rate.limit == 2 and first.rate.remaining == 1
    assert info.value.status == 429
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60


async def test_rate_info_is_stamped_with_the_injected_clock() -> None:
    braze = Braze(
        reply(201, {"message": "success"}, {"x-ratelimit-reset": "3", "retry-after": "2"})
    )
    async with braze.client(clock=lambda: NOW) as client:
        result = await client.track({"attributes": []})
    assert (result.rate.observed_at, result.rate.reset_at, result.rate.retry_at) == (
        NOW,
        NOW + 3,
        NOW + 2,
    )
