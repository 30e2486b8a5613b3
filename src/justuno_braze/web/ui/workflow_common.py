"""What the workflow pages share: the form as posted, and the status badges of a workflow
(the path's ids and the 404 of another account's workflow are :mod:`.not_found`'s)."""

from __future__ import annotations

from fastapi import Request

from justuno_braze.services import workflows as service
from justuno_braze.store import Account, Store


async def posted(request: Request) -> dict[str, str]:
    """The form's text fields (a repeated name keeps its last value)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def badges(view: service.WorkflowView, published: service.VersionView | None) -> list[str]:
    """The status as text: ``Draft`` (never published), ``Published vN`` or ``Paused (vN)``,
    plus ``Draft changes not published`` when the draft differs from the latest version."""
    if view.latest_version is None or published is None:
        return ["Draft"]
    n = view.latest_version
    out = [f"Paused (v{n})" if view.status == "paused" else f"Published v{n}"]
    if published.definition != view.draft:
        out.append("Draft changes not published")
    return out


async def latest_version(
    store: Store, account: Account, view: service.WorkflowView
) -> service.VersionView | None:
    if view.latest_version is None:
        return None
    return await service.get_version(store, account, view.id, view.latest_version)
