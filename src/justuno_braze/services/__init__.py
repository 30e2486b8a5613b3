"""The composition root: what the CLI and the web layer ask of the system.

One module per area; routers and commands stay thin and call these:

- ``sync`` — the Sync to App step as a service: ``preview`` and ``sync_jobs`` (pure).
- ``connections`` — the app's store, Braze connections by URL + key, the cached
  custom-attribute schema.
- ``dead_letters`` — re-queue dead letters across accounts (the ``replay`` command).
- ``apps`` — the apps catalog; connect Braze (verified), replace the key, refresh the
  custom attributes, disconnect.
- ``workflows`` (+ ``workflow_checks``) — drafts validated on save, preview, publish,
  versions and diffs, restore, pause/resume, export/import.
- ``profiles``, ``consent`` (the ledger: CSV export, pages), ``analytics`` (S11),
  ``deliveries`` (by state, replay of an account's dead letters), ``time_range`` (the
  ``[since, until)`` every range of the API takes).
- ``ingestion`` (+ ``ingest_plan``, pure) — events accepted durably, all or nothing, group
  commit; ``accounts`` — accounts with tokens, the HMAC body signature; ``demo`` — the
  demo seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from justuno_braze.lazy_names import lazy_names

if TYPE_CHECKING:
    from justuno_braze.services.accounts import NewAccount, create_account, sign
    from justuno_braze.services.analytics import Day, Summary
    from justuno_braze.services.apps import (
        ConnectionRefused,
        ConnectionView,
        UnknownConnection,
        catalog,
        connect_braze,
    )
    from justuno_braze.services.connections import braze_schema, connection_for, open_app_store
    from justuno_braze.services.consent import LedgerPage
    from justuno_braze.services.dead_letters import ReplayFilter, matching_dead_letters, replay
    from justuno_braze.services.deliveries import DeliveryPage, NotADeadLetter, ReplayRequest
    from justuno_braze.services.demo import DemoSeed, seed_demo
    from justuno_braze.services.ingestion import GroupCommit, IngestRefused, IngestResult, ingest
    from justuno_braze.services.profiles import ProfileDetail, ProfilePage
    from justuno_braze.services.sync import (
        NOT_ENROLLED,
        Enqueue,
        Preview,
        Skipped,
        parse_events,
        preview,
        profile_of,
        source_key,
        sync_jobs,
        workflow_id,
    )
    from justuno_braze.services.time_range import TimeRange
    from justuno_braze.services.workflow_checks import resolve_connection
    from justuno_braze.services.workflows import (
        PreviewResult,
        UnknownWorkflow,
        VersionView,
        WorkflowView,
    )

_HOME = {  # name -> the module that defines it (imported on first use)
    "ConnectionRefused": "apps",
    "ConnectionView": "apps",
    "Day": "analytics",
    "DeliveryPage": "deliveries",
    "DemoSeed": "demo",
    "Enqueue": "sync",
    "GroupCommit": "ingestion",
    "IngestRefused": "ingestion",
    "IngestResult": "ingestion",
    "LedgerPage": "consent",
    "NOT_ENROLLED": "sync",
    "NewAccount": "accounts",
    "NotADeadLetter": "deliveries",
    "Preview": "sync",
    "PreviewResult": "workflows",
    "ProfileDetail": "profiles",
    "ProfilePage": "profiles",
    "ReplayFilter": "dead_letters",
    "ReplayRequest": "deliveries",
    "Skipped": "sync",
    "Summary": "analytics",
    "TimeRange": "time_range",
    "UnknownConnection": "apps",
    "UnknownWorkflow": "workflows",
    "VersionView": "workflows",
    "WorkflowView": "workflows",
    "braze_schema": "connections",
    "catalog": "apps",
    "connect_braze": "apps",
    "connection_for": "connections",
    "create_account": "accounts",
    "ingest": "ingestion",
    "matching_dead_letters": "dead_letters",
    "open_app_store": "connections",
    "parse_events": "sync",
    "preview": "sync",
    "profile_of": "sync",
    "replay": "dead_letters",
    "resolve_connection": "workflow_checks",
    "seed_demo": "demo",
    "sign": "accounts",
    "source_key": "sync",
    "sync_jobs": "sync",
    "workflow_id": "sync",
}


__getattr__ = lazy_names(__name__, _HOME)


__all__ = [
    "NOT_ENROLLED",
    "ConnectionRefused",
    "ConnectionView",
    "Day",
    "DeliveryPage",
    "DemoSeed",
    "Enqueue",
    "GroupCommit",
    "IngestRefused",
    "IngestResult",
    "LedgerPage",
    "NewAccount",
    "NotADeadLetter",
    "Preview",
    "PreviewResult",
    "ProfileDetail",
    "ProfilePage",
    "ReplayFilter",
    "ReplayRequest",
    "Skipped",
    "Summary",
    "TimeRange",
    "UnknownConnection",
    "UnknownWorkflow",
    "VersionView",
    "WorkflowView",
    "braze_schema",
    "catalog",
    "connect_braze",
    "connection_for",
    "create_account",
    "ingest",
    "matching_dead_letters",
    "open_app_store",
    "parse_events",
    "preview",
    "profile_of",
    "replay",
    "resolve_connection",
    "seed_demo",
    "sign",
    "source_key",
    "sync_jobs",
    "workflow_id",
]
