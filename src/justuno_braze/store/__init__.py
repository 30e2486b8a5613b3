"""The store: SQLAlchemy Core tables, Alembic migrations, one repository per aggregate.

``open_store(url)`` is the entry point; ``sqlite:///x.db`` and ``postgresql://…`` URLs are
accepted (the async drivers are chosen in :mod:`justuno_braze.store.engine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from justuno_braze.lazy_names import lazy_names

if TYPE_CHECKING:
    from justuno_braze.store.accounts import Account, Accounts
    from justuno_braze.store.analytics import Analytics, ProfileDay, WorkflowDay
    from justuno_braze.store.braze_state import BrazeState
    from justuno_braze.store.connections import Connection, Connections
    from justuno_braze.store.consent import ConsentContext, ConsentLedger, LedgerEntry
    from justuno_braze.store.deliveries import Deliveries, Delivery
    from justuno_braze.store.engine import Store, is_current, open_store, upgrade
    from justuno_braze.store.enrollments import Enrollments
    from justuno_braze.store.events import Events
    from justuno_braze.store.profiles import Profiles, StoredProfile
    from justuno_braze.store.quarantine import Quarantine, QuarantinedInput
    from justuno_braze.store.step_runs import StepRun, StepRuns
    from justuno_braze.store.tokens import ApiTokens, SeenSignatures, TokenRecord
    from justuno_braze.store.users import AccountUser, AccountUsers, StoredUiSession, UiSessions
    from justuno_braze.store.workflows import (
        PublishedWorkflow,
        StoredWorkflow,
        Workflows,
        WorkflowVersion,
    )

_HOME = {  # name -> the module that defines it (imported on first use)
    "Account": "accounts",
    "AccountUser": "users",
    "AccountUsers": "users",
    "Accounts": "accounts",
    "Analytics": "analytics",
    "ApiTokens": "tokens",
    "BrazeState": "braze_state",
    "Connection": "connections",
    "Connections": "connections",
    "ConsentContext": "consent",
    "ConsentLedger": "consent",
    "Deliveries": "deliveries",
    "Delivery": "deliveries",
    "Enrollments": "enrollments",
    "Events": "events",
    "LedgerEntry": "consent",
    "ProfileDay": "analytics",
    "Profiles": "profiles",
    "PublishedWorkflow": "workflows",
    "Quarantine": "quarantine",
    "QuarantinedInput": "quarantine",
    "SeenSignatures": "tokens",
    "StepRun": "step_runs",
    "StepRuns": "step_runs",
    "Store": "engine",
    "StoredProfile": "profiles",
    "StoredUiSession": "users",
    "StoredWorkflow": "workflows",
    "TokenRecord": "tokens",
    "UiSessions": "users",
    "WorkflowDay": "analytics",
    "WorkflowVersion": "workflows",
    "Workflows": "workflows",
    "is_current": "engine",
    "open_store": "engine",
    "upgrade": "engine",
}


__getattr__ = lazy_names(__name__, _HOME)


__all__ = [
    "Account",
    "AccountUser",
    "AccountUsers",
    "Accounts",
    "Analytics",
    "ApiTokens",
    "BrazeState",
    "Connection",
    "Connections",
    "ConsentContext",
    "ConsentLedger",
    "Deliveries",
    "Delivery",
    "Enrollments",
    "Events",
    "LedgerEntry",
    "ProfileDay",
    "Profiles",
    "PublishedWorkflow",
    "Quarantine",
    "QuarantinedInput",
    "SeenSignatures",
    "StepRun",
    "StepRuns",
    "Store",
    "StoredProfile",
    "StoredUiSession",
    "StoredWorkflow",
    "TokenRecord",
    "UiSessions",
    "WorkflowDay",
    "WorkflowVersion",
    "Workflows",
    "is_current",
    "open_store",
    "upgrade",
]
