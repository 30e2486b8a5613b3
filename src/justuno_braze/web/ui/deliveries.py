"""Deliveries: the account's dead letters with Braze's reason, filtered by a GET form, and
their replay after a fix (``GET /deliveries``, ``POST /deliveries/replay``); the profile
pages (:mod:`.profiles`) are part of this area and mounted on the same router.

Listing and replay go through ``services.deliveries`` like ``GET …/deliveries`` and
``POST …/deliveries/replay`` of the REST API: everything is scoped to the account, and a
replay by ids refuses ids that are not the account's dead letters (another account's
look exactly like unknown ones: 404, nothing replayed).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from justuno_braze.errors import InputError
from justuno_braze.services import deliveries as service
from justuno_braze.services.profiles import parse_cursor
from justuno_braze.store import Account, Store
from justuno_braze.web.auth import NowDep, StoreDep
from justuno_braze.web.ui import profiles
from justuno_braze.web.ui.delivery_filters import DeadLetterFilter
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.session import CsrfChecked, SignedIn, UiSession
from justuno_braze.web.ui.workflow_names import workflow_label, workflow_names

router = APIRouter(include_in_schema=False)
router.include_router(profiles.router)

PAGE_SIZE = 50
RECENT = 20
NOTHING_SELECTED = "Select at least one dead letter, or replay all matching."
NOT_DEAD = (
    "Some selected deliveries are not dead letters of this account any more (already "
    "replayed?). Nothing was re-queued: reload the list and try again."
)


def requeued(n: int) -> str:
    """The notice after a replay: ``3 deliveries re-queued``."""
    if n == 0:
        return "No dead letter matched: nothing re-queued."
    return f"{n} {'delivery' if n == 1 else 'deliveries'} re-queued."


async def _list_page(
    request: Request,
    ui: UiSession,
    store: Store,
    where: DeadLetterFilter,
    *,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    account: Account = ui.account
    names = await workflow_names(store, account)
    wanted, problems = where.checked()
    problems |= errors or {}
    dead = None
    if wanted is not None:
        dead = await service.list_dead_letters(
            store, account.id, wanted, cursor=cursor, limit=PAGE_SIZE
        )
    recent = await service.list_deliveries(store, account.id, state="delivered", limit=RECENT)
    return page(
        request,
        "deliveries/index.html",
        ui,
        status_code=400 if problems and status_code == 200 else status_code,
        where=where,
        errors=problems,
        dead=dead,
        cursor=cursor,
        recent=recent.items,
        workflow_options=workflow_options(names, where.workflow),
        label=lambda wid: workflow_label(names, wid),
    )


def workflow_options(names: dict[str, str], chosen: str) -> list[tuple[str, str, bool]]:
    """The workflow filter's choices: all, then the account's by name; a chosen id that
    is not one of them (a workflow file's slug, a deleted workflow) stays choosable."""
    options = [("", "All workflows", False)]
    options += [(wid, name, False) for wid, name in sorted(names.items(), key=lambda i: i[1])]
    if chosen and chosen not in names:
        options.append((chosen, chosen, False))
    return options


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries(
    request: Request,
    ui: SignedIn,
    store: StoreDep,
    workflow: str | None = None,
    reason: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    where = DeadLetterFilter.of(workflow, reason, since, until)
    try:
        parse_cursor(cursor)
    except InputError:
        cursor = None  # a stale or hand-made link: start from the newest
    return await _list_page(request, ui, store, where, cursor=cursor)


@router.post("/deliveries/replay")
async def replay(request: Request, ui: CsrfChecked, store: StoreDep, now: NowDep) -> Response:
    """Re-queue the selected dead letters (``scope=selected``, the ``ids`` boxes) or all
    that match the page's filters (``scope=matching``)."""
    form = await request.form()
    text = {k: v if isinstance(v, str) else "" for k, v in form.multi_items()}
    where = DeadLetterFilter.of(
        text.get("workflow"), text.get("reason"), text.get("since"), text.get("until")
    )
    ids: list[int] | None = None
    if text.get("scope") != "matching":
        ids = _ids([v for v in form.getlist("ids") if isinstance(v, str)])
        if not ids:
            return await _list_page(request, ui, store, where, errors={"ids": NOTHING_SELECTED})
    try:
        wanted = service.ReplayRequest(ids=ids) if ids else where.request()
        count = await service.replay(store, ui.account.id, wanted, now=now)
    except service.NotADeadLetter:
        return await _list_page(
            request, ui, store, where, errors={"ids": NOT_DEAD}, status_code=404
        )
    except InputError:
        return await _list_page(request, ui, store, where)  # shows the filters' errors
    query = where.query()
    return see_other("/deliveries" + (f"?{query}" if query else ""), notice=requeued(count))


def _ids(values: list[str]) -> list[int]:
    """The ticked ids; anything that is not an id of ours is dropped here and the rest
    is checked by the service (only the account's dead letters are replayed)."""
    out = sorted({int(v) for v in values if v.isdigit() and 0 < len(v) <= 18 and int(v) > 0})
    return out[: service.MAX_REPLAY_IDS]
