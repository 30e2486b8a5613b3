"""Normalisers for the default Braze attributes (pure).

Each function takes a raw value and returns the Braze value, or raises
``Unnormalizable(reason)`` (a ``ValueError``): the caller turns that into a warning and
leaves the attribute out — it is never sent as ``null``, which would erase Braze data.

``contact``: ``email``, ``phone`` (E.164), ``name``, ``dob`` (``YYYY-MM-DD``).
``words``: ``language`` (ISO-639-1), ``country`` (ISO-3166-1 alpha-2), ``gender``
(``M``/``F``/``O``/``N``/``P``), ``fold`` (the lookup key they share) and
``build_tables`` (load the shipped name tables up front). ``generate_tables`` rebuilds
those tables from babel, pycountry and langcodes (a development-time step).
Every normaliser is idempotent: normalising its output returns it unchanged.
"""

from __future__ import annotations

from justuno_braze.normalize.contact import Unnormalizable, dob, email, name, phone
from justuno_braze.normalize.words import build_tables, country, fold, gender, language

__all__ = [
    "Unnormalizable",
    "build_tables",
    "country",
    "dob",
    "email",
    "fold",
    "gender",
    "language",
    "name",
    "phone",
]
