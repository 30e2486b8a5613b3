"""What the Sync to App → Braze step shows besides the typed fields (pure): the seven
default attributes (S6) and the Sync Another Property target picker (S7, S9).

The picker lists the connection's cached Braze custom attributes WITH their types, then
the Braze standard profile fields a mapping may write, then "New attribute" (typed in a
box; Braze creates it with an auto-detected type). Object and Array-of-objects
attributes — and blocklisted ones — are listed but ``disabled``, with the reason in the
option's own text, so a marketer sees why an attribute they know is not selectable.
"""

from __future__ import annotations

from dataclasses import dataclass

from justuno_braze.braze.step import STANDARD_TARGETS, unknown_target_message
from justuno_braze.web.ui.apps_views import attribute_rows
from justuno_braze.web.ui.workflow_form import NEW_TARGET, MappingRow

#: S6, in PRODUCT.md's words, with where each value comes from on the profile.
DEFAULT_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("email", "from the profile's email, lower-cased and syntax-checked"),
    ("phone", "from sms (or phone), sent as E.164 only when valid"),
    ("first name", "from first_name, whitespace tidied"),
    ("last name", "from last_name, whitespace tidied"),
    ("language", "from language, as an ISO-639-1 code"),
    ("gender", "from gender, as M, F, O, N or P"),
    ("country", "from country, as an ISO-3166 alpha-2 code"),
)


@dataclass(frozen=True, slots=True)
class TargetOption:
    value: str
    text: str
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class TargetPicker:
    """The picker's option groups; ``known`` is None when no attribute list is cached."""

    custom: tuple[TargetOption, ...] | None
    standard: tuple[TargetOption, ...]
    new: TargetOption

    @property
    def selectable(self) -> frozenset[str]:
        options = (*(self.custom or ()), *self.standard)
        return frozenset(o.value for o in options if not o.disabled)


def target_picker(attributes: list[dict[str, object]] | None) -> TargetPicker:
    """The picker for a connection's cached ``GET /custom_attributes`` list."""
    custom = None
    if attributes is not None:
        custom = tuple(
            TargetOption(
                row.name,
                f"{row.name} ({row.type_label})"
                + (f" — not selectable: {row.not_mappable}" if row.not_mappable else ""),
                disabled=row.not_mappable is not None,
            )
            for row in sorted(attribute_rows(attributes), key=lambda r: r.name.lower())
        )
    standard = tuple(TargetOption(name, f"{name} (standard field)") for name in STANDARD_TARGETS)
    return TargetPicker(custom, standard, TargetOption(NEW_TARGET, "New attribute (type its name)"))


def shown_rows(rows: list[MappingRow], picker: TargetPicker) -> list[MappingRow]:
    """Rows as the picker shows them: a target the list cannot select is shown as
    "New attribute" with its name in the box (what the user typed is kept), and a "New
    attribute" name the list CAN select is selected (so switching connection A → B → A
    gives back what was picked on A)."""
    selectable = picker.selectable
    shown = []
    for row in rows:
        if row.target and row.target != NEW_TARGET and row.target not in selectable:
            row = MappingRow(row.source, NEW_TARGET, row.target)
        elif row.target == NEW_TARGET and row.new.strip() in selectable:
            row = MappingRow(row.source, row.new.strip())
        shown.append(row)
    return shown


def target_notes(rows: list[MappingRow], picker: TargetPicker) -> dict[int, str]:
    """Why a row's picked target is not selected in this connection's list, by row index:
    after choosing another connection the marketer sees which mappings it lacks before
    saving (a save refuses the unselectable ones and warns about the unknown ones)."""
    if picker.custom is None:  # nothing to check against: the fieldset says so
        return {}
    custom = {option.value: option for option in picker.custom}
    selectable = picker.selectable
    notes: dict[int, str] = {}
    for i, row in enumerate(rows):
        if not row.target or row.target == NEW_TARGET or row.target in selectable:
            continue
        option = custom.get(row.target)
        notes[i] = (
            f"On this connection: {option.text}."
            if option is not None
            else f"Not in this connection's list: {unknown_target_message(row.target)}."
        )
    return notes
