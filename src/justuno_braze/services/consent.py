"""The consent ledger as evidence: CSV export per account and time range, and a JSON
listing paged with a cursor.

CSV: a header row of ``store.consent.COLUMNS``, then one row per decision, oldest first
(``since <= occurred_at < until``), RFC 4180 quoting by the ``csv`` module (CRLF line
ends). Cells are **CSV-injection safe**: a text cell that starts with ``=``, ``+``, ``-``,
``@`` (or a tab / carriage return, which some spreadsheets skip before a formula) gets a
leading ``'`` so that Excel, LibreOffice and Google Sheets show it as text instead of
running it (OWASP "CSV Injection"). Numbers and times are never prefixed.

The listing's cursor is ``<occurred_at µs>.<id>`` of the last entry of a page (keyset
paging on the ledger's (account, time, id) index: no page rereads earlier ones).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from justuno_braze.errors import InputError
from justuno_braze.services.time_range import TimeRange
from justuno_braze.store import LedgerEntry, Store
from justuno_braze.store.consent import COLUMNS
from justuno_braze.store.scoped import page_size
from justuno_braze.store.tables import from_micros, to_micros

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_FLUSH_ROWS = 500  # rows per chunk of the streamed CSV


def safe_cell(value: object) -> object:
    """A cell value that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_header() -> str:
    return _csv_text([COLUMNS])


def csv_row(entry: LedgerEntry) -> str:
    return _csv_text([tuple(safe_cell(v) for v in entry.values())])


async def export_csv(store: Store, account_id: int, window: TimeRange) -> AsyncIterator[str]:
    """The account's ledger entries in ``window`` as CSV text chunks (header first),
    streamed from the database."""
    yield csv_header()
    rows: list[tuple[object, ...]] = []
    entries = _stream(store, account_id, window.since, window.until)
    try:
        async for entry in entries:
            rows.append(tuple(safe_cell(v) for v in entry.values()))
            if len(rows) >= CSV_FLUSH_ROWS:
                yield _csv_text(rows)
                rows = []
    finally:
        await entries.aclose()
    if rows:
        yield _csv_text(rows)


def _csv_text(rows: list[tuple[object, ...]] | list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # excel dialect: RFC 4180 quoting, CRLF
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class LedgerPage:
    """One page of ledger entries, oldest first; ``next_cursor`` None on the last page."""

    items: list[LedgerEntry]
    next_cursor: str | None


def encode_cursor(entry: LedgerEntry) -> str:
    return f"{to_micros(entry.occurred_at)}.{entry.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    time_part, _, id_part = cursor.partition(".")
    if not (time_part.isdigit() and id_part.isdigit()) or len(cursor) > 40:
        raise InputError("is not a cursor this API returned", field="cursor")
    try:
        return from_micros(int(time_part)), int(id_part)
    except OverflowError:
        raise InputError("is not a cursor this API returned", field="cursor") from None


async def list_entries(
    store: Store,
    account_id: int,
    window: TimeRange,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> LedgerPage:
    """A page of the account's ledger entries in ``window``, oldest first (keyset paging
    on the ledger's (account, time, id) index)."""
    page_size(limit)
    after = decode_cursor(cursor) if cursor else None
    items = await store.consent.page(
        account_id, since=window.since, until=window.until, after=after, limit=limit + 1
    )
    more = len(items) > limit
    items = items[:limit]
    return LedgerPage(items, encode_cursor(items[-1]) if more else None)


async def for_visitor(
    store: Store, account_id: int, visitor_id: str, *, limit: int
) -> list[LedgerEntry]:
    """The visitor's latest ledger entries, newest first (for the profile page)."""
    return await store.consent.latest_for_visitor(account_id, visitor_id, limit=page_size(limit))


def _stream(
    store: Store, account_id: int, since: datetime, until: datetime
) -> AsyncGenerator[LedgerEntry, None]:
    """The ledger export (an async generator: closed early when a page is full)."""
    return cast(
        AsyncGenerator[LedgerEntry, None],
        store.consent.export(account_id, since=since, until=until),
    )
