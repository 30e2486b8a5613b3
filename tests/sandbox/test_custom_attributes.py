"""``GET /custom_attributes`` (braze-api.md §5, §9.10)."""

from __future__ import annotations

import re

import httpx

from justuno_braze.sandbox.app import create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
NEXT = re.compile(r'^<(/custom_attributes\?cursor=[^>]+)>; rel="next"$')


def catalog(count: int) -> tuple[dict[str, object], ...]:
    return tuple(
        {"name": f"attr_{i:03d}", "data_type": "Number", "description": f"#{i}"}
        for i in reversed(range(count))
    )


def client_for(options: SandboxOptions) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(options)), base_url="http://s", headers=AUTH
    )


async def test_pages_of_50_sorted_with_link_next() -> None:
    """§5: 50 per page, A–Z; ``Link: </custom_attributes?cursor=…>; rel="next"`` until the
    last page, which has no Link header."""
    async with client_for(SandboxOptions(custom_attributes=catalog(120))) as client:
        names: list[str] = []
        url = "/custom_attributes"
        pages = 0
        while True:
            response = await client.get(url)
            assert response.status_code == 200
            body = response.json()
            assert body["message"] == "success"
            names += [a["name"] for a in body["attributes"]]
            pages += 1
            link = response.headers.get("link")
            if link is None:
                break
            match = NEXT.match(link)
            assert match, link
            url = match.group(1)
        assert pages == 3
        assert names == [f"attr_{i:03d}" for i in range(120)]


async def test_attribute_shape() -> None:
    """§5: name, description, data_type, array_length, status, tag_names."""
    attributes = (
        {"name": "Zeta", "data_type": "String"},
        {"name": "alpha", "data_type": "Array", "array_length": 100, "tag_names": ["T"]},
    )
    async with client_for(SandboxOptions(custom_attributes=attributes)) as client:
        response = await client.get("/custom_attributes")
        assert "link" not in response.headers
        assert response.json()["attributes"] == [
            {
                "name": "alpha",
                "description": None,
                "data_type": "Array",
                "array_length": 100,
                "status": "Active",
                "tag_names": ["T"],
            },
            {
                "name": "Zeta",
                "description": None,
                "data_type": "String",
                "array_length": None,
                "status": "Active",
                "tag_names": [],
            },
        ]


async def test_tracked_attributes_appear_as_detected() -> None:
    """§4.4: Braze detects types of attributes it receives."""
    async with client_for(SandboxOptions()) as client:
        await client.post(
            "/users/track",
            json={
                "attributes": [
                    {"external_id": "u", "score": 3, "tags": ["a"], "seen": "2024-01-01"}
                ]
            },
        )
        listing = (await client.get("/custom_attributes")).json()["attributes"]
        assert {(a["name"], a["data_type"]) for a in listing} == {
            ("score", "Number (Automatically Detected)"),
            ("seen", "Date (Automatically Detected)"),
            ("tags", "Array (Automatically Detected)"),
        }


async def test_bad_cursor_is_400() -> None:
    async with client_for(SandboxOptions()) as client:
        response = await client.get("/custom_attributes", params={"cursor": "%%%"})
        assert response.status_code == 400
        assert "cursor" in response.json()["message"]
