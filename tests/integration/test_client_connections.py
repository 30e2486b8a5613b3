"""The Braze client's own keep-alive HTTP/1.1 connections (no proxy, no transport given),
against a scripted server on loopback: framing, reuse, limits, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
import pytest

from justuno_braze.braze.client import BrazeClient
from justuno_braze.errors import TransientError

KEY = "k3y-7f0e2d9c-secret-abcdef"
BODY = {"attributes": [{"email": "ana@example.com", "first_name": "Ana"}]}
OK = b'{"message":"success","attributes_processed":1}'

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes, bytes], Awaitable[bool]]


def ok(extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n%bContent-Length: %d\r\n\r\n%b"
        % (
            extra,
            len(OK),
            OK,
        )
    )


class Server:
    """Reads each request whole (head + Content-Length body), records it, and lets
    ``answer`` write the response; ``answer`` returns False to close the connection."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                if not await self.answer(reader, writer, head, body):
                    return
        finally:
            self.open -= 1
            writer.close()


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[Server, BrazeClient]]:
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with BrazeClient(base, KEY, allowed_urls=[base], timeout=0.5) as client:
            yield server, client
    finally:
        listener.close()
        await listener.wait_closed()


def writes(*parts: bytes, keep: bool = True) -> Answer:
    async def answer(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes, ___: bytes
    ) -> bool:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.01)  # separate reads on the client's side
        return keep

    return answer


async def test_sends_an_authorised_json_post_and_reuses_the_connection() -> None:
    async with serving(writes(ok())) as (server, client):
        first = await client.track(BODY)
        second = await client.track(BODY)
    assert first.status == second.status == 201
    assert first.processed == {"attributes": 1}
    assert server.connections == 1  # kept alive
    head, body = server.requests[0]
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /users/track HTTP/1.1"
    assert f"Authorization: Bearer {KEY}" in lines
    assert "Content-Type: application/json" in lines
    assert any(line.startswith("Host: 127.0.0.1:") for line in lines)
    assert orjson.loads(body) == BODY


async def test_a_response_split_across_reads_with_an_interim_100() -> None:
    response = b"HTTP/1.1 100 Continue\r\n\r\n" + ok()
    parts = [response[i : i + 7] for i in range(0, len(response), 7)]
    async with serving(writes(*parts)) as (_, client):
        result = await client.track(BODY)
    assert result.status == 201 and result.message == "success"


async def test_a_chunked_response_with_trailers() -> None:
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\n" + OK[:5] + b"\r\n"
        b"%x\r\n" % (len(OK) - 5) + OK[5:] + b"\r\n"
        b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    async with serving(writes(chunked[:30], chunked[30:])) as (server, client):
        first = await client.track(BODY)
        second = await client.track(BODY)
    assert first.processed == second.processed == {"attributes": 1}
    assert server.connections == 1


async def test_a_body_that_ends_with_the_connection() -> None:
    answer = writes(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\n" + OK, keep=False)
    async with serving(answer) as (server, client):
        first = await client.track(BODY)
        second = await client.track(BODY)
    assert first.processed == second.processed == {"attributes": 1}
    assert server.connections == 2  # "Connection: close": never reused


async def test_connection_close_is_honoured_even_with_a_length() -> None:
    async with serving(writes(ok(b"Connection: close\r\n"), keep=False)) as (server, client):
        await client.track(BODY)
        await client.track(BODY)
    assert server.connections == 2


async def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    async with serving(writes(ok(), keep=False)) as (server, client):
        await client.track(BODY)
        await asyncio.sleep(0.2)  # the server has closed it meanwhile
        result = await client.track(BODY)
    assert result.status == 201
    assert server.connections == 2


async def test_error_statuses_are_classified_as_before() -> None:
    throttled = b'{"message":"slow down"}'
    response = (
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: %d\r\n\r\n%b"
        % (len(throttled), throttled)
    )
    async with serving(writes(response)) as (_, client):
        with pytest.raises(TransientError) as info:
            await client.track(BODY)
    assert info.value.status == 429 and info.value.retry_after == 7
    assert "slow down" in str(info.value)


async def test_no_answer_is_a_read_timeout() -> None:
    async with serving(writes()) as (_, client):
        with pytest.raises(TransientError) as info:
            await client.track(BODY)
    assert "timed out reading (the outcome is unknown" in str(info.value)


async def test_a_disconnect_without_a_response_is_a_protocol_error() -> None:
    async with serving(writes(keep=False)) as (_, client):
        with pytest.raises(TransientError) as info:
            await client.track(BODY)
    assert "protocol error" in str(info.value)
    assert str(info.value).startswith("POST /users/track: ")


async def test_a_truncated_body_is_a_protocol_error() -> None:
    truncated = b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n" + OK
    async with serving(writes(truncated, keep=False)) as (_, client):
        with pytest.raises(TransientError) as info:
            await client.track(BODY)
    assert "protocol error" in str(info.value)


async def test_garbage_is_a_protocol_error_and_the_next_call_works() -> None:
    calls = 0

    async def answer(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes, ___: bytes
    ) -> bool:
        nonlocal calls
        calls += 1
        writer.write(b"SPDY/3 nonsense\r\n\r\n" if calls == 1 else ok())
        await writer.drain()
        return True

    async with serving(answer) as (server, client):
        with pytest.raises(TransientError, match="protocol error"):
            await client.track(BODY)
        assert (await client.track(BODY)).status == 201
    assert server.connections == 2  # the confused connection was dropped


def answering_after(seconds: float) -> Answer:
    """An answer that waits ``seconds`` before a 201."""

    async def answer(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes, ___: bytes
    ) -> bool:
        await asyncio.sleep(seconds)
        writer.write(ok())
        await writer.drain()
        return True

    return answer


async def test_at_most_max_connections_at_once() -> None:
    server = Server(answering_after(0.05))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    try:
        async with BrazeClient(base, KEY, allowed_urls=[base], max_connections=2) as client:
            results = await asyncio.gather(*(client.track(BODY) for _ in range(6)))
    finally:
        listener.close()
        await listener.wait_closed()
    assert [r.status for r in results] == [201] * 6
    assert server.connections == 2 and server.most_open == 2


async def test_a_cancelled_call_drops_its_connection() -> None:
    async with serving(answering_after(0.1)) as (server, client):
        call = asyncio.ensure_future(client.track(BODY))
        await asyncio.sleep(0.03)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert (await client.track(BODY)).status == 201  # not the late answer to the first
    assert server.connections == 2


def test_a_key_with_a_line_break_is_refused() -> None:
    base = "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="line breaks") as info:
        BrazeClient(base, KEY + "\r\nX-Injected: 1", allowed_urls=[base])
    assert KEY not in str(info.value)
