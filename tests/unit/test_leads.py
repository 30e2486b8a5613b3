"""CSV lead-export rows as form_submitted events."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from justuno_braze.errors import InputError
from justuno_braze.events import merge, parse_event
from justuno_braze.leads import LeadColumns, event_from_lead_row, fold_header

SAMPLE = Path(__file__).parents[1] / "data" / "justuno-leads-sample.csv"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("header", "folded"),
    [
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        (" FIRST  NAME ", "first_name"),
        ("Zip-Code", "zip_code"),
        ("Quiz: Skin Type?", "quiz_skin_type"),
        ("Préférence", "preference"),
        ("***", ""),
        ("メール", "メール"),
    ],
)
def test_fold_header(header: str, folded: str) -> None:
    assert fold_header(header) == folded


def test_header_aliases_and_event_columns() -> None:
    columns = LeadColumns.from_header(
        ["E-mail Address", "Phone Number", "Date of Birth", "Visitor ID", "Created At",
         "SMS Consent", "Email Consent", "Design", "Page URL", "Favourite Color", ""]
    )  # fmt: skip
    assert dict(columns.properties) == {
        "E-mail Address": "email",
        "Phone Number": "sms",
        "Date of Birth": "birthday",
        "Favourite Color": "favourite_color",
    }
    assert dict(columns.fields) == {
        "Visitor ID": "visitor_id",
        "Created At": "occurred_at",
        "SMS Consent": "consent.sms",
        "Email Consent": "consent.email",
        "Design": "design_id",
        "Page URL": "page_url",
    }


def test_two_columns_meaning_the_same_thing_are_refused() -> None:
    with pytest.raises(InputError, match="'Phone' and 'SMS'") as info:
        LeadColumns.from_header(["Email", "Phone", "SMS"])
    assert info.value.field == "header"


def test_header_without_any_identifier_column_is_refused() -> None:
    with pytest.raises(InputError, match="Email, Phone or Visitor ID"):
        LeadColumns.from_header(["First Name", "Country"])


def test_every_identifiable_sample_row_becomes_a_form_submitted_event() -> None:
    rows = sample_rows()
    columns = LeadColumns.from_header(list(rows[0]))
    events, refused = [], []
    for line, row in enumerate(rows, start=2):
        try:
            events.append(columns.event(row, now=NOW, line=line))
        except InputError as exc:
            refused.append((line, exc))
            assert not (row["Email"].strip() or any(c.isdigit() for c in row["Phone"]))
    assert len(events) + len(refused) == 300
    assert len(events) == 289
    assert {e.type for e in events} == {"form_submitted"}
    assert len({e.event_id for e in events}) == len(events)
    assert refused[0][0] == 4
    assert str(refused[0][1]) == "row 4: has no email, phone or visitor id to identify the lead"


def test_sample_row_details() -> None:
    rows = sample_rows()
    e = event_from_lead_row(rows[1], now=NOW)  # Noah, Brazilian phone, no consent cell
    assert e.properties == {
        "email": "Noah.Rossi1@example.com",
        "sms": "21 98765-4301",
        "first_name": "noah",
        "language": "Português",
        "gender": "Female",
        "country": "Brasil",
    }
    assert e.occurred_at == datetime(2026, 11, 15, 11, 19, tzinfo=UTC)
    assert e.consent == {}
    digest = hashlib.sha256(b"noah.rossi1@example.com").hexdigest()[:16]
    assert e.visitor_id == f"jv_email_{digest}"
    assert event_from_lead_row(rows[4], now=NOW).consent == {"sms": True}  # "yes"
    assert event_from_lead_row(rows[15], now=NOW).consent == {"sms": False}  # "no"


def test_visitor_id_falls_back_to_the_phone_in_e164() -> None:
    row = {"Email": "", "Phone": "(21) 98765-4309", "Country": "Brazil"}
    e = event_from_lead_row(row, now=NOW)
    assert e.visitor_id == "jv_phone_" + hashlib.sha256(b"+5521987654309").hexdigest()[:16]
    assert (
        e.visitor_id
        == event_from_lead_row({**row, "Phone": "+55 21 98765 4309"}, now=NOW).visitor_id
    )


def test_visitor_id_column_wins_and_time_defaults_to_the_import_time() -> None:
    e = event_from_lead_row({"Visitor ID": "jv_abc", "Email": "a@example.com"}, now=NOW)
    assert e.visitor_id == "jv_abc"
    assert e.occurred_at == NOW


def test_reimport_gives_the_same_event_and_visitor_ids() -> None:
    row = {"Email": " A@Example.com ", "First Name": "Ann"}
    first = event_from_lead_row(row, now=NOW)
    again = event_from_lead_row(row, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert (first.event_id, first.visitor_id) == (again.event_id, again.visitor_id)
    assert first.event_id.startswith("lead_")
    other = event_from_lead_row({**row, "First Name": "Anne"}, now=NOW)
    assert other.event_id != first.event_id and other.visitor_id == first.visitor_id


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-11-02T18:37:00Z", datetime(2026, 11, 2, 18, 37, tzinfo=UTC)),
        ("2026-11-02 18:37:00", datetime(2026, 11, 2, 18, 37, tzinfo=UTC)),
        ("2026-11-02", datetime(2026, 11, 2, tzinfo=UTC)),
        ("11/02/2026", datetime(2026, 11, 2, tzinfo=UTC)),
        ("11/02/2026 18:37", datetime(2026, 11, 2, 18, 37, tzinfo=UTC)),
    ],
)
def test_signup_date_formats(cell: str, expected: datetime) -> None:
    e = event_from_lead_row({"Email": "a@example.com", "Signup Date": cell}, now=NOW)
    assert e.occurred_at == expected


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"Email": "a@example.com", "Signup Date": "last tuesday"}, "row 7.Signup Date"),
        ({"Email": "a@example.com", "Signup Date": "13/45/2026"}, "row 7.Signup Date"),
        ({"Email": "a@example.com", "SMS Consent": "maybe"}, "row 7.SMS Consent"),
        ({"Email": "a@example.com", "IP": "not-an-ip"}, "row 7.ip"),
        ({"Email": "", "Phone": "n/a", "First Name": "Owen"}, "row 7"),
    ],
)
def test_bad_cells_name_the_row_and_column(row: dict[str, str], field: str) -> None:
    columns = LeadColumns.from_header(list(row))
    with pytest.raises(InputError) as info:
        columns.event(row, now=NOW, line=7)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("yes", True), ("TRUE", True), ("1", True), (" Y ", True), ("no", False), ("false", False),
     ("0", False), ("", None)],
)  # fmt: skip
def test_consent_cells(cell: str, expected: bool | None) -> None:
    e = event_from_lead_row({"Email": "a@example.com", "Email Consent": cell}, now=NOW)
    assert e.consent.get("email") is expected
    assert ("email" in e.consent) is (expected is not None)


def test_empty_cells_are_absent_and_other_columns_become_properties() -> None:
    row = {"Email": "a@example.com", "Last Name": "  ", "Quiz: Skin Type": "dry", None: "x"}
    e = event_from_lead_row(row, now=NOW)  # type: ignore[arg-type]
    assert e.properties == {"email": "a@example.com", "quiz_skin_type": "dry"}


def test_lead_events_merge_into_a_profile() -> None:
    rows = sample_rows()
    columns = LeadColumns.from_header(list(rows[0]))
    e = columns.event(rows[5], now=NOW)
    profile = merge(None, e)
    assert profile.forms_submitted == 1
    assert profile.properties["email"] == " LUCÍA.Schmidt5@Example.com ".strip()


@given(st.text())
def test_fold_header_is_idempotent_snake_case(header: str) -> None:
    folded = fold_header(header)
    assert fold_header(folded) == folded
    assert all(c.isalnum() or c == "_" for c in folded)
    assert " " not in folded and folded == folded.lower()
    assert not folded.startswith("_") and not folded.endswith("_")


def _cells(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(["", "  ", *values])


_COLUMNS = {  # header → what its cells may hold (mostly valid, some not)
    "Email": _cells("a@example.com", " B@Example.com ", "not-an-email"),
    "Phone": _cells("+1 303 555 0100", "n/a"),
    "Visitor ID": _cells("jv_x", "v" * 300),
    "Signup Date": _cells("2026-11-02T18:37:00Z", "2026-11-02", "11/02/2026 18:37", "2030-01-01"),
    "SMS Consent": _cells("yes", "no"),
    "Design": _cells("spring-popup"),
    "IP": _cells("10.0.0.1", "::FFFF:10.0.0.1"),
    "Page URL": _cells("https://shop.example.com/"),
    "Event ID": _cells("ev_1", "e" * 300),
    "Quiz": _cells("dry"),
    "Q" * 300: _cells("long"),
}


@settings(max_examples=400)
@given(st.fixed_dictionaries(_COLUMNS))
def test_a_lead_event_is_what_parse_event_makes_of_it(row: dict[str, str]) -> None:
    """What a row becomes is an event ``parse_event`` accepts as it stands (the import
    and the ingestion API agree on every event), and a refused row is named."""
    columns = LeadColumns.from_header(list(_COLUMNS))
    try:
        e = columns.event(row, now=NOW, line=3)
    except InputError as exc:
        assert (exc.field or "").startswith("row 3")
        return
    assert parse_event(e.to_dict(), now=NOW) == e
