"""Deliveries over HTTP: the account's jobs by state and workflow with Braze's reason,
cursor paging, replay of dead letters by id / workflow / reason / time (re-queued, then
delivered again by the worker), and refusals."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.integration.conftest import (
    D3,
    LEAD_CAPTURE,
    VIP_ALIAS,
    AccountFactory,
    ApiWorld,
    seed_leads,
)

REFUSED = "BAD_SUBSCRIPTION_GROUP_ID"


@pytest.fixture
async def seeded(api_world: ApiWorld) -> ApiWorld:
    await seed_leads(api_world)
    return api_world


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["items"]]


async def test_list_by_state_and_workflow_with_brazes_reason(seeded: ApiWorld) -> None:
    lead, vip = (str(seeded.world.workflow_ids[n]) for n in (LEAD_CAPTURE, VIP_ALIAS))
    everything = (await seeded.get("/deliveries")).json()["items"]
    assert [(d["state"], d["user_key"], d["workflow_id"]) for d in everything] == [
        ("dead", "alias:jv_cy", vip),
        ("delivered", "email:cy@example.com", lead),
        ("delivered", "email:ana@example.com", lead),
    ]
    dead = (await seeded.get("/deliveries", state="dead")).json()["items"]
    assert len(dead) == 1
    assert (dead[0]["reason"], dead[0]["attempts"], dead[0]["visitor_id"]) == (REFUSED, 1, "jv_cy")
    assert (dead[0]["enqueued_at"], dead[0]["finished_at"]) == (
        "2026-11-28T10:00:00Z",
        "2026-11-29T12:00:00Z",
    )
    assert dead[0]["attributes"]["user_alias"] == {
        "alias_name": "jv_cy",
        "alias_label": "justuno_visitor_id",
    }
    assert ids(await seeded.get("/deliveries", state="delivered")) == [
        d["id"] for d in everything[1:]
    ]
    assert ids(await seeded.get("/deliveries", workflow_id=lead)) == [
        d["id"] for d in everything[1:]
    ]
    assert ids(await seeded.get("/deliveries", workflow_id=vip, state="delivered")) == []
    assert ids(await seeded.get("/deliveries", state="pending")) == []
    assert ids(await seeded.get("/deliveries", workflow_id="no-such-workflow")) == []

    walked: list[int] = []
    cursor = ""
    for _ in range(5):
        page = (
            await seeded.get("/deliveries", limit="1", **({"cursor": cursor} if cursor else {}))
        ).json()
        walked += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [d["id"] for d in everything]
    lead_page = (await seeded.get("/deliveries", workflow_id=lead, limit="1")).json()
    rest = await seeded.get("/deliveries", workflow_id=lead, cursor=lead_page["next_cursor"])
    assert [d["id"] for d in lead_page["items"]] + ids(rest) == [d["id"] for d in everything[1:]]


async def test_replay_by_id_requeues_and_the_worker_delivers_again(seeded: ApiWorld) -> None:
    dead_id = ids(await seeded.get("/deliveries", state="dead"))[0]
    r = await seeded.post("/deliveries/replay", {"ids": [dead_id]})
    assert r.status_code == 200, r.text
    assert r.json() == {"replayed": 1}
    pending = (await seeded.get("/deliveries", state="pending")).json()["items"]
    assert [(d["id"], d["attempts"], d["finished_at"]) for d in pending] == [(dead_id, 0, None)]
    assert (await seeded.get("/analytics/summary")).json()["queue_depth"] == 1
    assert (await seeded.post("/deliveries/replay", {"ids": [dead_id]})).status_code == 404

    await seeded.world.deliver(at=D3 + timedelta(hours=20))  # Braze still refuses the group
    again = (await seeded.get("/deliveries", state="dead")).json()["items"]
    assert [(d["id"], d["reason"], d["attempts"], d["finished_at"]) for d in again] == [
        (dead_id, REFUSED, 1, "2026-11-29T20:00:00Z")
    ]


async def test_replay_filters_must_all_match(seeded: ApiWorld) -> None:
    lead, vip = (str(seeded.world.workflow_ids[n]) for n in (LEAD_CAPTURE, VIP_ALIAS))
    # cy's VIP job died at D3 12:00 with BAD_SUBSCRIPTION_GROUP_ID
    for body in (
        {"reason": "timeout"},
        {"workflow_id": lead},
        {"until": "2026-11-29T12:00:00Z"},  # until is excluded
        {"since": "2026-11-29T12:00:01Z"},
        {"reason": "bad_subscription", "workflow_id": lead},
    ):
        r = await seeded.post("/deliveries/replay", body)
        assert r.json() == {"replayed": 0}, body
    assert len(ids(await seeded.get("/deliveries", state="dead"))) == 1

    died = seeded.now[0]  # replays are due at the API's now: the worker runs later
    for body in (
        {"since": "2026-11-29T12:00:00Z"},  # since is included
        {"reason": "BAD_subscription", "workflow_id": vip},  # a part of the reason, any case
        {"since": "2026-11-29", "until": "2026-11-30", "workflow_id": vip},
        {},  # every dead letter of the account
    ):
        r = await seeded.post("/deliveries/replay", body)
        assert r.status_code == 200, r.text
        assert r.json() == {"replayed": 1}, body
        assert ids(await seeded.get("/deliveries", state="dead")) == []
        died += timedelta(minutes=10)
        await seeded.world.deliver(at=died)  # Braze refuses it again: dead once more
        dead = (await seeded.get("/deliveries", state="dead")).json()["items"]
        assert [d["finished_at"] for d in dead] == [died.isoformat().replace("+00:00", "Z")]


async def test_replay_refuses_ids_that_are_not_dead_letters(seeded: ApiWorld) -> None:
    delivered = ids(await seeded.get("/deliveries", state="delivered"))
    dead = ids(await seeded.get("/deliveries", state="dead"))
    for wanted in ([delivered[0]], [dead[0], 999_999]):
        r = await seeded.post("/deliveries/replay", {"ids": wanted})
        assert r.status_code == 404, r.text
        assert "no dead letter with id" in r.json()["message"]
    assert ids(await seeded.get("/deliveries", state="dead")) == dead  # nothing replayed


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("GET", "/deliveries", {"state": "sent"}, "state"),
        ("GET", "/deliveries", {"cursor": "x"}, "cursor"),
        ("GET", "/deliveries", {"limit": "0"}, "limit"),
        ("POST", "/deliveries/replay", {"ids": []}, "ids"),
        ("POST", "/deliveries/replay", {"ids": [0]}, "ids"),
        ("POST", "/deliveries/replay", {"since": "soon"}, "since"),
        ("POST", "/deliveries/replay", {"since": "2026-11-30", "until": "2026-11-29"}, "until"),
        ("POST", "/deliveries/replay", {"state": "dead"}, "state"),  # unknown key
    ],
)
async def test_bad_requests_name_the_field(
    client: httpx.AsyncClient,
    make_account: AccountFactory,
    method: str,
    path: str,
    payload: dict[str, object],
    field: str,
) -> None:
    acme = await make_account("acme")
    url = f"/api/v1/accounts/acme{path}"
    if method == "GET":
        r = await client.get(url, params=payload, headers=acme.api_headers)  # type: ignore[arg-type]
    else:
        r = await client.post(url, json=payload, headers=acme.api_headers)
    assert r.status_code == 422, r.text
    assert field in r.json()["message"]
