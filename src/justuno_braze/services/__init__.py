"""The composition root: what the CLI and the web layer ask of the system.

One module per area; routers and commands stay thin and call these:

- ``sync`` — the Sync to App step as a service: ``preview`` and ``sync_jobs`` (pure).
- ``connections`` — the app's store, Braze connections by URL + key, the cached
  custom-attribute schema.
- ``replay`` — re-queue dead letters.
"""

from __future__ import annotations

from justuno_braze.services.connections import braze_schema, connection_for, open_app_store
from justuno_braze.services.replay import ReplayFilter, matching_dead_letters, replay
from justuno_braze.services.sync import (
    NOT_ENROLLED,
    Enqueue,
    Preview,
    Skipped,
    parse_events,
    preview,
    profile_of,
    source_key,
    step_problems,
    sync_jobs,
    workflow_id,
)

__all__ = [
    "NOT_ENROLLED",
    "Enqueue",
    "Preview",
    "ReplayFilter",
    "Skipped",
    "braze_schema",
    "connection_for",
    "matching_dead_letters",
    "open_app_store",
    "parse_events",
    "preview",
    "profile_of",
    "replay",
    "source_key",
    "step_problems",
    "sync_jobs",
    "workflow_id",
]
