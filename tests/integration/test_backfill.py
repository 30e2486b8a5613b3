"""The import pipeline in-process: streaming readers, import ids, refusals before enqueue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from justuno_braze.backfill import (
    ImportRequest,
    ImportSummary,
    file_identity,
    import_id,
    read_rows,
    run_import,
)
from justuno_braze.config import Settings
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.events import Event
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.store import LedgerEntry, open_store
from justuno_braze.vault import Vault
from justuno_braze.workflows.model import load

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
WORKFLOW = load(
    f"""
name: Lead import
trigger: {{event: form_submitted}}
steps:
  - sync_to_app:
      app: braze
      sms_subscription_group_id: {SMS}
      properties:
        - {{from: favourite_colours, to: colours}}
"""
)


def test_csv_rows_stream_with_line_numbers_and_row_errors(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "E-mail Address,First Name,SMS Consent,Signup Date\n"
        "ana@shop.io,Ana,yes,2026-11-01T10:00:00Z\n"
        "bo@shop.io,Bo,maybe,\n"
        ',"multi\nline",,\n'
        "cy@shop.io,Cy,,11/02/2026\n",
        "utf-8",
    )
    rows = list(read_rows(path, now=NOW))
    assert [line for line, _ in rows] == [2, 3, 5, 6]
    ana, bad_consent, no_id, cy = (item for _, item in rows)
    assert isinstance(ana, Event) and ana.properties["email"] == "ana@shop.io"
    assert ana.consent == {"sms": True}
    assert isinstance(bad_consent, InputError) and bad_consent.field == "row 3.SMS Consent"
    assert isinstance(no_id, InputError) and "no email, phone or visitor id" in str(no_id)
    assert isinstance(cy, Event) and cy.occurred_at == datetime(2026, 11, 2, tzinfo=UTC)


def test_jsonl_rows_report_the_line_of_a_bad_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"type": "form_submitted", "visitor_id": "v1", "occurred_at": "2026-11-01T10:00:00Z"}\n'
        "\n"
        "{not json\n"
        '{"type": "form_submitted", "occurred_at": "2026-11-01T10:00:00Z"}\n',
        "utf-8",
    )
    rows = list(read_rows(path, now=NOW))
    assert [line for line, _ in rows] == [1, 3, 4]
    assert isinstance(rows[0][1], Event)
    assert isinstance(rows[1][1], InputError) and rows[1][1].field == "line 3"
    assert isinstance(rows[2][1], InputError) and rows[2][1].field == "line 4.visitor_id"


def test_a_header_without_identifier_refuses_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("First Name,Last Name\nAna,Silva\n", "utf-8")
    with pytest.raises(InputError, match="Email, Phone or Visitor ID"):
        list(read_rows(path, now=NOW))


def test_an_oversized_cell_is_one_invalid_row_not_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    huge = "x" * 200_000  # over csv's default field size limit (131,072)
    path.write_text(f"Email,Notes\nana@shop.io,ok\nbo@shop.io,{huge}\ncy@shop.io,ok\n", "utf-8")
    rows = list(read_rows(path, now=NOW))
    kinds = [(line, type(item).__name__) for line, item in rows]
    assert kinds == [(2, "Event"), (3, "InputError"), (4, "Event")]
    assert "unreadable CSV row" in str(rows[1][1])


def test_a_json_array_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"type": "form_submitted"}]', "utf-8")
    with pytest.raises(InputError, match="JSON array"):
        list(read_rows(path, now=NOW))


def test_import_id_follows_content_and_workflow(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("Email\nana@shop.io\n", "utf-8")
    b.write_text("Email\nana@shop.io\n", "utf-8")
    (sha_a, lines), (sha_b, _) = file_identity(a), file_identity(b)
    assert lines == 2
    assert import_id(sha_a, "lead-import") == import_id(sha_b, "lead-import")
    assert import_id(sha_a, "lead-import") != import_id(sha_a, "other")
    b.write_text("Email\nbo@shop.io\n", "utf-8")
    assert file_identity(b)[0] != sha_a


async def test_an_object_target_in_braze_refuses_the_import_before_enqueueing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Email,Favourite Colours\nana@shop.io,teal\n", "utf-8")
    options = SandboxOptions(custom_attributes=({"name": "colours", "data_type": "Object"},))
    with running_sandbox(options) as url:
        base = url.rstrip("/")
        settings = Settings(database_url=f"sqlite:///{tmp_path}/jb.db", allowed_braze_urls=(base,))
        store = await open_store(settings.database_url, vault=Vault(Vault.generate_key()))
        try:
            request = ImportRequest(path, WORKFLOW, base, "sandbox-key")
            with pytest.raises(WorkflowError, match=r"properties\[0\]\.to.*an Object"):
                await run_import(store, settings, request, now=lambda: NOW)
            assert await store.outbox.depth() == 0
            connection = (await store.connections.for_account(1))[0]
            cached = connection.custom_attributes or []  # S2: the list is kept for the UI
            assert [(a["name"], a["data_type"]) for a in cached] == [("colours", "Object")]
        finally:
            await store.close()


async def enqueue_only_imports(
    tmp_path: Path, path: Path, *, times: int
) -> tuple[list[ImportSummary], list[LedgerEntry]]:
    """``import --enqueue-only`` of ``path`` ``times`` times into one fresh store (a sandbox
    answers the key check): the summaries and the consent ledger afterwards."""
    with running_sandbox() as url:
        base = url.rstrip("/")
        settings = Settings(database_url=f"sqlite:///{tmp_path}/jb.db", allowed_braze_urls=(base,))
        store = await open_store(settings.database_url, vault=Vault(Vault.generate_key()))
        try:
            request = ImportRequest(path, WORKFLOW, base, "sandbox-key", enqueue_only=True)
            summaries = [
                await run_import(store, settings, request, now=lambda: NOW) for _ in range(times)
            ]
            account = await store.accounts.ensure("default", "default")
            since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
            entries = [e async for e in store.consent.export(account.id, since=since, until=until)]
        finally:
            await store.close()
    return summaries, entries


async def test_every_consent_decision_of_an_import_is_in_the_ledger_once(tmp_path: Path) -> None:
    """PRODUCT.md: every subscription decision is written to the consent ledger — for
    backfilled leads too, and a resumed import does not record them twice."""
    path = tmp_path / "leads.csv"
    path.write_text(
        "Email,Phone,SMS Consent,Signup Date\n"
        "ana@shop.io,+14155550101,yes,2026-11-01T10:00:00Z\n"
        "bo@shop.io,+14155550102,no,2026-11-01T11:00:00Z\n"
        "cy@shop.io,,,2026-11-01T12:00:00Z\n",
        "utf-8",
    )
    (first, again), entries = await enqueue_only_imports(tmp_path, path, times=2)
    assert (first.enqueued, again.enqueued, again.already) == (3, 0, 3)
    decided = sorted((e.visitor_id, e.state, e.basis, e.reason) for e in entries)
    visitors = {e.visitor_id for e in entries}
    assert len(decided) == 3 and len(visitors) == 3  # one SMS decision per lead, once
    assert sorted((state, basis, reason) for _, state, basis, reason in decided) == [
        ("not_subscribed", "explicit", "unticked"),
        ("not_subscribed", "implicit", "no_valid_phone"),
        ("subscribed", "explicit", None),
    ]


async def test_a_row_repeated_in_the_file_is_one_job_with_its_consent_recorded_once(
    tmp_path: Path,
) -> None:
    """The same row twice in one chunk is the same event: one job, one ledger entry."""
    path = tmp_path / "leads.csv"
    row = "ana@shop.io,+14155550101,yes,2026-11-01T10:00:00Z\n"
    path.write_text(f"Email,Phone,SMS Consent,Signup Date\n{row}{row}", "utf-8")
    (summary,), entries = await enqueue_only_imports(tmp_path, path, times=1)
    assert (summary.rows, summary.enqueued, summary.already) == (2, 1, 1)
    assert [(e.channel, e.state, e.basis) for e in entries] == [("sms", "subscribed", "explicit")]
