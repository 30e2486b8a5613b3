"""Workflow names for the pages that show workflow ids (dashboard, deliveries).

Deliveries and analytics carry a workflow as the id its jobs were enqueued with: the
stored workflow's number for workflows made in the UI or the API (``"12"``), a slug for
workflow files run by the CLI (``"spring-lead-capture"``). A marketer knows workflows by
name, so pages show the name when the id is one of the account's workflows, else the id.
"""

from __future__ import annotations

from justuno_braze.services.workflows import list_workflows
from justuno_braze.store import Account, Store


async def workflow_names(store: Store, account: Account) -> dict[str, str]:
    """``{job workflow id: name}`` of the account's stored workflows."""
    return {str(w.id): w.name for w in await list_workflows(store, account)}


def workflow_label(names: dict[str, str], workflow_id: str | None) -> str:
    if workflow_id is None:
        return "—"
    return names.get(workflow_id, workflow_id)
