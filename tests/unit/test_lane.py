"""A lane's requests in flight are spread over small Braze clients, lowest first."""

from __future__ import annotations

import asyncio
import time

import httpx

from justuno_braze.braze.client import BrazeClient, TrackResult
from justuno_braze.delivery.sender import POOL_SIZE, Lane

BASE = "https://rest.iad-01.braze.com"
KEY = "k3y-7f0e2d9c-secret-abcdef"


class HeldBraze:
    """Braze answering 201 once ``release`` is set; counts requests in flight per client."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.arrived = asyncio.Condition()
        self.in_flight: list[int] = []
        self.peak: list[int] = []
        self.answered: list[int] = []

    def open_client(self) -> BrazeClient:
        index = len(self.in_flight)
        self.in_flight.append(0)
        self.peak.append(0)
        self.answered.append(0)

        async def handler(request: httpx.Request) -> httpx.Response:
            async with self.arrived:
                self.in_flight[index] += 1
                self.peak[index] = max(self.peak[index], self.in_flight[index])
                self.arrived.notify_all()
            await self.release.wait()
            self.in_flight[index] -= 1
            self.answered[index] += 1
            return httpx.Response(201, json={"message": "success", "attributes_processed": 1})

        return BrazeClient(BASE, KEY, transport=httpx.MockTransport(handler))

    async def until_in_flight(self, n: int) -> None:
        async with self.arrived:
            await self.arrived.wait_for(lambda: sum(self.in_flight) >= n)


def body(i: int) -> dict[str, list[dict[str, str]]]:
    return {"attributes": [{"external_id": f"user-{i}", "first_name": "Ana"}]}


async def test_requests_in_flight_fill_the_lowest_client_first_and_open_more_as_needed() -> None:
    braze = HeldBraze()
    lane = Lane(1, braze.open_client, max_in_flight=10, clock=time.time, sleep=asyncio.sleep)
    try:
        sends = [asyncio.create_task(lane.send(body(i))) for i in range(10)]
        await braze.until_in_flight(10)
        assert braze.in_flight == [POOL_SIZE, POOL_SIZE, 10 - 2 * POOL_SIZE]
        braze.release.set()
        results = await asyncio.gather(*sends)
        assert all(isinstance(result, TrackResult) for result in results)
        assert braze.peak == [POOL_SIZE, POOL_SIZE, 10 - 2 * POOL_SIZE]
        assert lane.in_flight == 0

        # Idle again: the next requests go to the first client; none is opened.
        again = await asyncio.gather(*(lane.send(body(i)) for i in range(POOL_SIZE)))
        assert all(isinstance(result, TrackResult) for result in again)
        assert len(braze.answered) == 3
        assert braze.answered[0] == 2 * POOL_SIZE
    finally:
        await lane.aclose()


async def test_a_client_that_cannot_be_opened_takes_no_slot() -> None:
    braze = HeldBraze()
    opened = 0

    def open_once() -> BrazeClient:
        nonlocal opened
        opened += 1
        if opened > 1:
            raise ValueError("no second client")
        return braze.open_client()

    lane = Lane(1, open_once, max_in_flight=2 * POOL_SIZE, clock=time.time, sleep=asyncio.sleep)
    try:
        held = [asyncio.create_task(lane.send(body(i))) for i in range(POOL_SIZE)]
        await braze.until_in_flight(POOL_SIZE)
        refused = await asyncio.gather(lane.send(body(99)), return_exceptions=True)
        assert isinstance(refused[0], ValueError)
        assert lane.in_flight == POOL_SIZE
        braze.release.set()
        assert all(isinstance(result, TrackResult) for result in await asyncio.gather(*held))
        assert lane.in_flight == 0
    finally:
        await lane.aclose()
