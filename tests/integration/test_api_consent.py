"""The consent ledger over HTTP: CSV export (header, RFC 4180 quoting, CSV-injection-safe
cells, time range) and the JSON listing paged with a cursor — from events ingested through
the API and run by published workflows."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from justuno_braze.services.consent import safe_cell
from justuno_braze.store.consent import COLUMNS
from tests.integration.conftest import (
    EMAIL_GROUP,
    SMS_GROUP,
    UNKNOWN_GROUP,
    AccountFactory,
    ApiWorld,
    seed_leads,
)

ANA_FORM = "2026-11-27T10:05:00Z"
CY_FORM = "2026-11-28T09:00:00Z"
CY_TEXT = '=HYPERLINK("http://evil.example") I agree, "really"'


@pytest.fixture
async def seeded(api_world: ApiWorld) -> ApiWorld:
    await seed_leads(api_world)
    return api_world


def parse(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def decision(row: dict[str, str]) -> tuple[str, ...]:
    keys = ("visitor_id", "channel", "group_id", "state", "basis", "reason", "workflow_id")
    return tuple(row[k] for k in keys)


async def test_csv_export_of_every_decision(seeded: ApiWorld) -> None:
    lead = str(seeded.world.workflow_ids["Lead capture"])
    vip = str(seeded.world.workflow_ids["VIP by alias"])
    r = await seeded.get("/consent.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="consent-acme.csv"'
    assert r.text.startswith(",".join(COLUMNS) + "\r\n")
    rows = parse(r.text)
    assert sorted(decision(row) for row in rows) == sorted(
        [
            ("jv_ana", "sms", SMS_GROUP, "subscribed", "explicit", "", lead),
            ("jv_ana", "email", EMAIL_GROUP, "subscribed", "implicit", "", lead),
            ("jv_cy", "sms", SMS_GROUP, "not_subscribed", "implicit", "no_valid_phone", lead),
            ("jv_cy", "email", EMAIL_GROUP, "subscribed", "implicit", "", lead),
            ("jv_cy", "sms", SMS_GROUP, "not_subscribed", "implicit", "no_valid_phone", vip),
            ("jv_cy", "email", UNKNOWN_GROUP, "subscribed", "implicit", "", vip),
        ]
    )
    assert [row["occurred_at"] for row in rows] == [ANA_FORM] * 2 + [CY_FORM] * 4  # oldest first
    ana = rows[0]
    assert (ana["design_id"], ana["page_url"], ana["workflow_version"]) == (
        "spring-popup",
        "https://shop.example/spring-popup",
        "1",
    )
    assert ana["recorded_at"] == "2026-11-27T13:00:00Z"
    # the consent text is evidence, kept word for word — but never run as a formula
    assert {row["consent_text"] for row in rows[2:]} == {"'" + CY_TEXT}
    assert '"\'=HYPERLINK(""http://evil.example"") I agree, ""really"""' in r.text


async def test_csv_export_of_a_time_range(seeded: ApiWorld) -> None:
    day2 = parse((await seeded.get("/consent.csv", since="2026-11-28")).text)
    assert {row["visitor_id"] for row in day2} == {"jv_cy"} and len(day2) == 4
    day1 = parse((await seeded.get("/consent.csv", until="2026-11-28T00:00:00Z")).text)
    assert {row["visitor_id"] for row in day1} == {"jv_ana"} and len(day1) == 2
    # since included, until excluded: the exact second of ana's form
    exact = await seeded.get("/consent.csv", since=ANA_FORM, until="2026-11-27T10:05:01Z")
    assert len(parse(exact.text)) == 2
    none = await seeded.get("/consent.csv", since="2026-11-27T10:05:01Z", until="2026-11-28")
    assert none.text == ",".join(COLUMNS) + "\r\n"


async def test_json_listing_pages_through_the_ledger_in_csv_order(seeded: ApiWorld) -> None:
    csv_rows = parse((await seeded.get("/consent.csv")).text)
    for limit in ("1", "4", "500"):
        ids: list[int] = []
        cursor = ""
        for _ in range(10):
            r = await seeded.get("/consent", limit=limit, **({"cursor": cursor} if cursor else {}))
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= int(limit)
            ids += [entry["id"] for entry in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert ids == [int(row["id"]) for row in csv_rows], limit
    first = (await seeded.get("/consent", limit="1")).json()["items"][0]
    assert first["occurred_at"] == ANA_FORM and first["workflow_version"] == 1
    cy = (await seeded.get("/consent", since="2026-11-28")).json()["items"]
    assert [e["visitor_id"] for e in cy] == ["jv_cy"] * 4
    assert {e["consent_text"] for e in cy} == {CY_TEXT}  # JSON is not a spreadsheet


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/consent.csv", {"since": "last week"}, "since"),
        ("/consent.csv", {"until": "2026-02-30"}, "until"),
        ("/consent.csv", {"since": "2026-11-29", "until": "2026-11-28"}, "until"),
        ("/consent", {"since": "2026-11-29", "until": "2026-11-29"}, "until"),
        ("/consent", {"cursor": "12"}, "cursor"),
        ("/consent", {"limit": "0"}, "limit"),
    ],
)
async def test_bad_requests_are_refused_naming_the_field(
    client: httpx.AsyncClient,
    make_account: AccountFactory,
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    acme = await make_account("acme")
    r = await client.get(f"/api/v1/accounts/acme{path}", params=params, headers=acme.api_headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/json"
    assert field in r.json()["message"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("I agree", "I agree"),
        ("", ""),
        (None, None),
        (3, 3),
    ],
)
def test_formula_cells_are_prefixed(value: object, cell: object) -> None:
    assert safe_cell(value) == cell
