"""The API routers, one module per area. ``create_app`` includes every router listed in
:data:`ROUTERS` (module names under this package, each exposing ``router``); a module not
written yet is skipped, so areas land independently. Append yours here."""

from __future__ import annotations

ROUTERS: tuple[str, ...] = (
    "health",
    "ingest",
    "apps",
    "workflows",
    "profiles",
    "consent",
    "analytics",
    "deliveries",
)
